"""Crash safety: a real `conifer serve` is killed with SIGKILL while writers run every kind of write —
upserts (new records and overwrites), updates of values and metadata, deletes by id, `deleteAll` and
namespace deletes — on records written in this cycle and recovered from earlier ones.

Each writer owns three namespaces (the first is the one emptied whole now and then, the others grow) and
keeps an exact model of them. After every restart every namespace
must hold exactly what the model says (every record with its exact values and metadata, no record more:
a deleted record never comes back), except for the one request per writer that was in flight at the kill,
whose whole effect must be either present or absent. Half the kills are timed at random, half the moment a
compaction is seen writing a segment; the directory left by each kill is inspected for an interrupted
compaction before the restart. The test runs a fixed number of cycles and prints what it checked.

SIGKILL keeps the page cache, so this cannot catch a missing fsync; test_durability.py proves the order of
fsync, rename and response."""
import copy
import os
import random
import shutil
import signal
import struct
import tempfile
import threading
import time
from urllib.parse import quote, urlencode

import pytest

from conftest import Server, data_path, new_api_key, raw_request, same_json

CYCLES = 24
WRITERS = 3
NAMESPACES_PER_WRITER = 3
DIMENSION = 32
# A valid request of this test has no reason to fail; any non-2xx answer is a defect.
ERRORS_ALLOWED = 0
# Generous: a cycle takes a few seconds; this only stops a hung run.
OVERALL_TIMEOUT = 900


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="conifer-crash-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def f32(value):
    """A value as float32, the precision Conifer stores."""
    return struct.unpack("f", struct.pack("f", value))[0]


def apply(model, op):
    """The model after `op` (model: namespace → id → (values, metadata))."""
    kind, namespace, body = op
    records = model.setdefault(namespace, {})
    if kind == "upsert":
        for vector in body["vectors"]:
            records[vector["id"]] = ([f32(v) for v in vector["values"]], dict(vector.get("metadata", {})))
    elif kind == "update":
        values, metadata = records[body["id"]]
        if "values" in body:
            values = [f32(v) for v in body["values"]]
        if "setMetadata" in body:
            metadata = {**metadata, **body["setMetadata"]}
        records[body["id"]] = (values, metadata)
    elif kind == "delete":
        for rid in body["ids"]:
            records.pop(rid, None)
    elif kind in ("deleteAll", "deleteNamespace"):
        records.clear()
    return model


class WriterState:
    """What one writer owns across cycles: its namespaces' exact contents and its id counter."""

    def __init__(self, number, seed):
        self.namespaces = [f"w{number}-{n}" for n in range(NAMESPACES_PER_WRITER)]
        self.model = {namespace: {} for namespace in self.namespaces}
        self.ever = {namespace: set() for namespace in self.namespaces}  # every id ever acknowledged there
        self.rng = random.Random(seed)
        self.next_id = 0
        self.in_flight = None
        self.counts = {}
        self.errors = []


class Writer(threading.Thread):
    """Sends random writes to its namespaces until stopped or until the server dies mid-request."""

    def __init__(self, server, path, state):
        super().__init__(daemon=True)
        self.server, self.path, self.state = server, path, state
        self.stop = threading.Event()

    def values(self):
        rng = self.state.rng
        values = [rng.randint(-512, 512) / 256 for _ in range(DIMENSION)]
        values[0] = 1.0 + rng.randint(0, 255) / 256  # never all zero
        return values

    def next_op(self):
        s, rng = self.state, self.state.rng
        namespace = rng.choice(s.namespaces)
        existing = sorted(s.model[namespace])
        roll = rng.random()
        if not existing or roll < 0.45:
            vectors = []
            for i in range(rng.randint(5, 30)):
                if existing and rng.random() < 0.3:
                    rid = rng.choice(existing)  # overwrite, often of a record recovered in an earlier cycle
                else:
                    rid = f"r{s.next_id}"
                    s.next_id += 1
                vectors.append({"id": rid, "values": self.values(),
                                "metadata": {"n": s.next_id, "even": i % 2 == 0, "tags": [str(i)], "g": rng.choice("abc")}})
            # Ids are unique within a batch (the last one would win, but the model must not need to know).
            unique = {v["id"]: v for v in vectors}
            return ("upsert", namespace, {"vectors": list(unique.values()), "namespace": namespace})
        if roll < 0.65:
            body = {"id": rng.choice(existing), "namespace": namespace}
            choice = rng.randrange(3)
            if choice != 1:
                body["values"] = self.values()
            if choice != 0:
                body["setMetadata"] = {"g": rng.choice("xyz"), "updated": True}
            return ("update", namespace, body)
        # Only a writer's first namespace is ever emptied whole, so the others accumulate across cycles.
        if roll < 0.9 or namespace != s.namespaces[0]:
            ids = rng.sample(existing, min(len(existing), rng.randint(1, 8)))
            return ("delete", namespace, {"ids": ids, "namespace": namespace})
        if roll < 0.95:
            return ("deleteAll", namespace, {"deleteAll": True, "namespace": namespace})
        return ("deleteNamespace", namespace, None)

    def send(self, op):
        kind, namespace, body = op
        if kind == "upsert":
            return raw_request(self.server, "POST", self.path + "/vectors/upsert", body)
        if kind == "update":
            return raw_request(self.server, "POST", self.path + "/vectors/update", body)
        if kind in ("delete", "deleteAll"):
            return raw_request(self.server, "POST", self.path + "/vectors/delete", body)
        return raw_request(self.server, "DELETE", f"{self.path}/namespaces/{quote(namespace)}")

    def run(self):
        s = self.state
        while not self.stop.is_set():
            op = self.next_op()
            s.in_flight = op
            try:
                status, reply = self.send(op)
            except Exception:  # noqa: BLE001 - the server was killed mid-request
                return
            s.in_flight = None
            if 200 <= status < 300:
                apply(s.model, op)
                s.ever[op[1]].update(s.model[op[1]])
                s.counts[op[0]] = s.counts.get(op[0], 0) + 1
            else:
                s.errors.append((op[0], status, reply))


def observed_namespace(server, path, namespace):
    """Every record of a namespace as the server has it: ids by listing (pagination to the end), then fetched."""
    ids, token = [], None
    while True:
        query = {"namespace": namespace, "limit": 100}
        if token:
            query["paginationToken"] = token
        status, reply = raw_request(server, "GET", f"{path}/vectors/list?{urlencode(query)}")
        assert status == 200, reply
        ids += [v["id"] for v in reply["vectors"]]
        token = (reply.get("pagination") or {}).get("next")
        if not token:
            break
    records = {}
    for start in range(0, len(ids), 100):
        query = urlencode([("namespace", namespace)] + [("ids", i) for i in ids[start:start + 100]])
        status, reply = raw_request(server, "GET", f"{path}/vectors/fetch?{query}")
        assert status == 200, reply
        for rid, vector in reply["vectors"].items():
            records[rid] = ([f32(v) for v in vector["values"]], vector.get("metadata") or {})
    assert sorted(records) == sorted(ids), "listed ids and fetched records differ"
    return records


def same_records(observed, expected):
    return observed.keys() == expected.keys() and all(
        observed[rid][0] == expected[rid][0] and same_json(observed[rid][1], expected[rid][1]) for rid in expected
    )


def interrupted_compaction(index_dir):
    """What an interrupted compaction leaves: a temporary segment, two segments, or log files the manifest
    already folded (read from the directory after the kill, before recovery tidies it). The manifest is
    sealed; a segment's name is the sequence it folds, which is what the manifest would say."""
    segments = os.listdir(os.path.join(index_dir, "segments"))
    sealed = [int(name[:-4]) for name in segments if name.endswith(".seg")]
    if any(name.startswith("tmp-") for name in segments) or len(sealed) > 1:
        return True
    if not sealed:
        return False
    folded_up_to = sealed[0]
    return any(name.endswith(".log") and int(name[:-4]) <= folded_up_to for name in os.listdir(os.path.join(index_dir, "wal")))


def wait_for_compaction(index_dir, rng, timeout=4.0):
    """Returns once a segment is being written (a temporary file in segments/), or after a random delay."""
    segments = os.path.join(index_dir, "segments")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(name.startswith("tmp-") for name in os.listdir(segments)):
            return True
        time.sleep(0.0005)
    return False


def test_every_kind_of_acknowledged_write_survives_sigkill(root):
    started = time.time()
    rng = random.Random(7)
    data_dir = os.path.join(root, "data")
    key = new_api_key()
    writers = [WriterState(n, rng.random()) for n in range(WRITERS)]
    path = index_dir = None
    figures = {"kills": 0, "timed at compaction": 0, "mid-compaction": 0, "in flight": 0,
               "in flight, applied": 0, "in flight, absent": 0, "records checked": 0, "deleted ids checked absent": 0}
    for cycle in range(CYCLES + 1):
        assert time.time() - started < OVERALL_TIMEOUT, f"cycle {cycle}: over the overall timeout"
        server = Server(data_dir, key, "--compact-after-log-files", "6").start()
        try:
            if path is None:
                status, model = raw_request(server, "POST", "/indexes", {
                    "name": "crash", "dimension": DIMENSION, "metric": "cosine", "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}
                })
                assert status == 201, model
                path = data_path(model["host"])

            # --- check: every namespace exactly as modelled; an in-flight write all present or all absent ---
            for state in writers:
                observed = {namespace: observed_namespace(server, path, namespace) for namespace in state.namespaces}
                if state.in_flight is not None:
                    after = apply(copy.deepcopy(state.model), state.in_flight)
                    applied = all(same_records(observed[n], after.get(n, {})) for n in state.namespaces)
                    absent = all(same_records(observed[n], state.model[n]) for n in state.namespaces)
                    assert applied or absent, f"cycle {cycle}: the in-flight {state.in_flight[0]} on {state.in_flight[1]} is torn"
                    if applied and not absent:
                        state.model = after
                        for n in state.namespaces:
                            state.ever[n].update(after.get(n, {}))
                        figures["in flight, applied"] += 1
                    else:
                        figures["in flight, absent"] += 1
                    state.in_flight = None
                for namespace in state.namespaces:
                    expected = state.model[namespace]
                    assert same_records(observed[namespace], expected), (
                        f"cycle {cycle}: namespace {namespace} differs: missing {sorted(set(expected) - set(observed[namespace]))[:5]}, "
                        f"resurrected or extra {sorted(set(observed[namespace]) - set(expected))[:5]}, "
                        f"changed {[r for r in expected if r in observed[namespace] and observed[namespace][r] != expected[r]][:5]}")
                    figures["records checked"] += len(expected)
                    figures["deleted ids checked absent"] += len(state.ever[namespace] - set(expected))
            # Emptied namespaces are gone (they were never created explicitly); no other namespace exists.
            status, listed = raw_request(server, "GET", f"{path}/namespaces?limit=100")
            assert status == 200, listed
            expected_names = {n for state in writers for n in state.namespaces if state.model[n]}
            assert {n["name"] for n in listed["namespaces"]} == expected_names, f"cycle {cycle}: namespaces"
            if cycle == CYCLES:
                break

            # --- write, then kill ---
            threads = [Writer(server, path, state) for state in writers]
            for thread in threads:
                thread.start()
            time.sleep(0.3)
            if index_dir is None:  # created with the index's first write
                index_dir = os.path.join(data_dir, "indexes", os.listdir(os.path.join(data_dir, "indexes"))[0])
            if cycle % 2 == 1:
                figures["timed at compaction"] += wait_for_compaction(index_dir, rng)
            else:
                time.sleep(rng.uniform(0.0, 1.0))
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            figures["kills"] += 1
            for thread in threads:
                thread.stop.set()
                thread.join(timeout=60)
                assert not thread.is_alive(), "a writer hung after the kill"
            figures["in flight"] += sum(state.in_flight is not None for state in writers)
            figures["mid-compaction"] += interrupted_compaction(index_dir)
        finally:
            server.stop()

    figures["records at the end"] = sum(len(records) for state in writers for records in state.model.values())
    counts = {}
    for state in writers:
        for kind, count in state.counts.items():
            counts[kind] = counts.get(kind, 0) + count
    errors = [e for state in writers for e in state.errors]
    print(f"\ncrash test: {CYCLES} cycles; {figures}; acknowledged writes by kind {counts}; non-2xx answers {len(errors)}")
    assert len(errors) <= ERRORS_ALLOWED, f"writers saw {len(errors)} error answers, e.g. {errors[:3]}"
    # Every kind of write was acknowledged often enough to matter, and the kills landed where they must.
    for kind in ("upsert", "update", "delete", "deleteAll", "deleteNamespace"):
        assert counts.get(kind, 0) >= 5, f"only {counts.get(kind, 0)} acknowledged {kind} writes"
    assert figures["kills"] == CYCLES
    assert figures["in flight"] >= CYCLES, "kills should land while writers have requests in flight"
    assert figures["in flight, applied"] + figures["in flight, absent"] == figures["in flight"]
    assert figures["mid-compaction"] >= 3, "too few kills landed during a compaction"
    assert figures["deleted ids checked absent"] > 1000
    assert figures["records checked"] > 10_000
