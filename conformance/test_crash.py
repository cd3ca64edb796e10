"""Crash safety: a real `conifer serve` is killed with SIGKILL at random moments while writers upsert;
after every restart each acknowledged record is present with its exact values and metadata, and a batch
that was in flight at the kill is either wholly present or wholly absent (never torn)."""
import os
import random
import shutil
import signal
import struct
import tempfile
import threading
import time
from urllib.parse import urlencode

import pytest

from conftest import Server, data_path, new_api_key, raw_request

CYCLES = 24
WRITERS = 3
BATCH = 40
DIMENSION = 16


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="conifer-crash-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Writer(threading.Thread):
    """Upserts batches until stopped; remembers what the server acknowledged and what was in flight."""

    def __init__(self, server, path, name, rng, acknowledged, lock):
        super().__init__(daemon=True)
        self.server, self.path, self.prefix, self.rng = server, path, name, rng
        self.acknowledged, self.lock = acknowledged, lock
        self.in_flight = None
        self.stop = threading.Event()
        self.batches = 0

    def run(self):
        while not self.stop.is_set():
            batch = {}
            for i in range(BATCH):
                # Overwrite some earlier records so replacements are checked too.
                with self.lock:
                    earlier = [k for k in self.acknowledged if k.startswith(self.prefix)]
                rid = self.rng.choice(earlier) if earlier and self.rng.random() < 0.2 else f"{self.prefix}-{self.batches}-{i}"
                values = [self.rng.randint(-512, 512) / 256 for _ in range(DIMENSION)]
                values[0] = 1.0 + self.rng.randint(0, 255) / 256  # never all zero
                batch[rid] = (f32(values), {"writer": self.prefix, "batch": self.batches, "tags": [str(i)], "ok": i % 2 == 0})
            self.in_flight = batch
            body = {"vectors": [{"id": k, "values": v, "metadata": m} for k, (v, m) in batch.items()], "namespace": "crash"}
            try:
                status, _ = raw_request(self.server, "POST", self.path + "/vectors/upsert", body)
            except Exception:  # noqa: BLE001 - the server was killed mid-request
                return
            if status != 200:
                return
            with self.lock:
                self.acknowledged.update(batch)
            self.in_flight = None
            self.batches += 1


def f32(values):
    """Values as float32, the precision Conifer stores (and prints in its shortest form)."""
    return [struct.unpack("f", struct.pack("f", v))[0] for v in values]


def fetch_all(server, path, ids):
    found = {}
    for start in range(0, len(ids), 150):
        query = urlencode([("namespace", "crash")] + [("ids", i) for i in ids[start:start + 150]])
        status, reply = raw_request(server, "GET", f"{path}/vectors/fetch?{query}")
        assert status == 200, reply
        for rid, vector in reply["vectors"].items():
            found[rid] = (f32(vector["values"]), vector.get("metadata"))
    return found


def test_acknowledged_writes_survive_sigkill(root):
    rng = random.Random(7)
    data_dir = os.path.join(root, "data")
    key = new_api_key()
    acknowledged, lock = {}, threading.Lock()
    in_flight = []
    path = None
    deadline = time.time() + 240
    for cycle in range(CYCLES + 1):
        server = Server(data_dir, key, "--compact-after-log-files", "20").start()
        try:
            if path is None:
                status, model = raw_request(server, "POST", "/indexes", {
                    "name": "crash", "dimension": DIMENSION, "metric": "cosine", "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}
                })
                assert status == 201, model
                path = data_path(model["host"])
            stored = fetch_all(server, path, sorted(set(acknowledged) | {rid for batch in in_flight for rid in batch}))
            for batch in in_flight:
                # A batch the kill interrupted is all-or-nothing.
                present = [rid for rid, (values, metadata) in batch.items() if stored.get(rid) == (values, metadata)]
                assert len(present) in (0, len(batch)), f"cycle {cycle}: torn batch, {len(present)} of {len(batch)} present"
                if present:
                    acknowledged.update(batch)
            for rid, expected in acknowledged.items():
                assert stored.get(rid) == expected, f"cycle {cycle}: acknowledged record {rid} lost or changed"
            if cycle == CYCLES or time.time() > deadline:
                assert cycle >= 20, "fewer than 20 kills fitted in the time budget"
                break
            writers = [Writer(server, path, f"w{cycle}x{n}", random.Random(rng.random()), acknowledged, lock) for n in range(WRITERS)]
            for writer in writers:
                writer.start()
            time.sleep(rng.uniform(0.2, 1.2))
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            for writer in writers:
                writer.stop.set()
                writer.join(timeout=30)
            in_flight = [w.in_flight for w in writers if w.in_flight]
        finally:
            server.stop()
    assert len(acknowledged) > 1000, f"only {len(acknowledged)} records were acknowledged"
    index_dirs = os.listdir(os.path.join(data_dir, "indexes"))
    assert len(index_dirs) == 1
    segments = os.listdir(os.path.join(data_dir, "indexes", index_dirs[0], "segments"))
    assert segments, "compaction should have folded the log into a segment during the run"
