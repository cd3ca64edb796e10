"""Index data in object storage (`conifer serve --index-store s3://bucket/prefix`) against moto's S3 server: the
bucket holds every index (write log, segments, manifest, wrapped key, all sealed) and the data directory's index
files are a cache, so a node whose index files are deleted serves the same records after a SIGKILL; a write is
acknowledged only once its log object is in the bucket (an unreachable store refuses it with a retriable 503 and
loses nothing acknowledged); two servers writing one index (a copied data directory) never overwrite each other's
acknowledged writes; a damaged cached file is fetched again; an index written before the store was configured is
uploaded; deleting an index destroys its key in the bucket at once and the purge removes its objects. Replicas on
other servers of a shared catalog: test_shared_catalog.py.

Runs with the 10.x SDK's virtualenv (moto is in requirements-sdk10.txt); skipped where moto is not installed.
"""
import os
import re
import shutil
import socket
import tempfile
import threading
import time

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import Server, new_api_key, raw_request
from test_audit_export import AWS_ENV, Moto

pytest.importorskip("moto")

BUCKET = "index-store"
PREFIX = "cluster-a"
MARKER = "plaintext-marker-7f3a"


class Relay:
    """A TCP relay between Conifer and moto that can be cut: while cut it accepts connections and closes them at
    once, as a store that has become unreachable does; restored, it carries bytes both ways again."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while not self.cut and (data := source.recv(65536)):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.close()
            except OSError:
                pass

    def close(self):
        self.cut = True
        self.listener.close()


@pytest.fixture
def moto(monkeypatch):
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    server = Moto().start()
    server.s3.create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="conifer-index-store-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def objects(moto, prefix=PREFIX + "/"):
    """{key: bytes} of every object under `prefix` in the index store's bucket (one a compaction removes between the
    listing and the read is left out)."""
    found = {}
    for page in moto.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            try:
                found[item["Key"]] = moto.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            except moto.s3.exceptions.NoSuchKey:
                pass
    return found


def index_objects(moto):
    """The one index's id and its objects' names relative to `<prefix>/indexes/<id>/`."""
    found = {}
    for key in objects(moto, f"{PREFIX}/indexes/"):
        match = re.match(rf"{PREFIX}/indexes/([0-9a-f-]{{36}})/(.+)", key)
        found.setdefault(match.group(1), set()).add(match.group(2))
    assert len(found) == 1, found
    return next(iter(found.items()))


def start(data_dir, key, endpoint, *extra):
    return Server(data_dir, key, "--index-store", f"s3://{BUCKET}/{PREFIX}", *extra, env={"AWS_ENDPOINT_URL_S3": endpoint}).start()


def kill(server):
    server.process.kill()
    server.process.wait()
    server.process = None


def records(start_at, count):
    return [(f"v{n}", [float(n % 7) + 1.0, float(n % 5), 1.0, float(n)], {"n": n, "note": MARKER}) for n in range(start_at, start_at + count)]


def make_index(pc, name="stored"):
    pc.create_index(name=name, dimension=4, metric="euclidean", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
    return pc.Index(host=pc.describe_index(name).host)


def open_index(server, key, name="stored"):
    pc = Pinecone(api_key=key, host=server.url)
    return pc.Index(host=pc.describe_index(name).host)


def count(index):
    return index.describe_index_stats().total_vector_count


def wait_for(condition, timeout=60, what="the condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_bucket_holds_the_index_and_a_node_whose_index_files_are_gone_serves_it(moto, root):
    data_dir, key = os.path.join(root, "data"), new_api_key()
    server = start(data_dir, key, moto.url, "--compact-after-log-files", "4")
    try:
        pc = Pinecone(api_key=key, host=server.url)
        index = make_index(pc)
        for batch in range(10):
            index.upsert(vectors=records(batch * 20, 20))
        index_id, names = index_objects(moto)
        assert "key" in names and any(name.startswith("wal/") for name in names), names
        # Compaction (after four log files) publishes a segment and its manifest and removes the folded log objects.
        wait_for(lambda: {"manifest"} <= index_objects(moto)[1] and any(n.startswith("segments/") for n in index_objects(moto)[1]),
                 what="a segment and manifest in the bucket")
        wait_for(lambda: sum(n.startswith("wal/") for n in index_objects(moto)[1]) < 4, what="folded log objects removed")
        stored = objects(moto)
        assert not any(MARKER.encode() in body for body in stored.values()), "a record's metadata is in the bucket in plaintext"
        assert all(body[:4] != b"CNFW" for name, body in stored.items() if "/wal/" in name), "log objects are sealed"

        # SIGKILL, then the index files on this node are gone: the next start serves the index from the bucket.
        kill(server)
        shutil.rmtree(os.path.join(data_dir, "indexes", index_id))
        server = start(data_dir, key, moto.url, "--compact-after-log-files", "4")
        index = open_index(server, key)
        assert count(index) == 200
        fetched = index.fetch(ids=["v0", "v137", "v199"]).vectors
        assert fetched["v137"].metadata == {"n": 137, "note": MARKER}
        assert fetched["v199"].values == [float(199 % 7) + 1.0, float(199 % 5), 1.0, 199.0]
        assert index.query(vector=[1.0, 0.0, 1.0, 0.0], top_k=1).matches[0].id == "v0"

        # Writes go on after the last sequence the bucket holds, and survive the same again.
        index.upsert(vectors=records(200, 20))
        index.delete(ids=["v0"])
        kill(server)
        shutil.rmtree(os.path.join(data_dir, "indexes"))
        server = start(data_dir, key, moto.url)
        index = open_index(server, key)
        assert count(index) == 219
        assert index.fetch(ids=["v0", "v219"]).vectors.keys() == {"v219"}
    finally:
        if server.process:
            server.stop()


def test_a_write_is_acknowledged_only_once_its_log_object_is_in_the_bucket(moto, root):
    relay = Relay(moto.port)
    data_dir, key = os.path.join(root, "data"), new_api_key()
    server = start(data_dir, key, relay.url)
    try:
        pc = Pinecone(api_key=key, host=server.url)
        index = make_index(pc)
        host_path = "/data/" + pc.describe_index("stored").host.split("/data/")[1]
        index.upsert(vectors=records(0, 30))

        relay.cut = True
        status, body = raw_request(server, "POST", host_path + "/vectors/upsert", {"vectors": [{"id": "lost", "values": [1, 2, 3, 4]}]})
        assert status == 503, (status, body)
        assert "index store" in body["message"], body
        # Reads go on from this node's copy, which holds every acknowledged write and nothing else.
        assert count(index) == 30
        assert index.fetch(ids=["lost"]).vectors == {}

        relay.cut = False
        index.upsert(vectors=records(30, 10))
        assert count(index) == 40
        kill(server)
        shutil.rmtree(os.path.join(data_dir, "indexes"))
        server = start(data_dir, key, relay.url)
        index = open_index(server, key)
        assert count(index) == 40
        assert index.fetch(ids=["lost"]).vectors == {}
    finally:
        if server.process:
            server.stop()
        relay.close()


def test_an_index_written_before_the_store_was_configured_is_uploaded(moto, root):
    data_dir, key = os.path.join(root, "data"), new_api_key()
    server = Server(data_dir, key).start()
    try:
        index = make_index(Pinecone(api_key=key, host=server.url))
        index.upsert(vectors=records(0, 50))
        assert server.stop() == 0
        server = start(data_dir, key, moto.url)
        index = open_index(server, key)
        assert count(index) == 50
        index_id, names = index_objects(moto)
        assert "key" in names
        kill(server)
        shutil.rmtree(os.path.join(data_dir, "indexes", index_id))
        server = start(data_dir, key, moto.url)
        assert count(open_index(server, key)) == 50
    finally:
        if server.process:
            server.stop()


def test_deleting_an_index_destroys_its_key_in_the_bucket_and_the_purge_removes_its_objects(moto, root):
    data_dir, key = os.path.join(root, "data"), new_api_key()
    server = start(data_dir, key, moto.url, "--purge-after-seconds", "3")
    try:
        pc = Pinecone(api_key=key, host=server.url)
        index = make_index(pc)
        index.upsert(vectors=records(0, 10))
        index_id, names = index_objects(moto)
        pc.delete_index("stored")
        # The key is gone from the bucket at once (the objects left can no longer be opened) and a marker dates it.
        remaining = set(objects(moto))
        assert f"{PREFIX}/indexes/{index_id}/key" not in remaining
        assert f"{PREFIX}/deleted/{index_id}" in remaining
        wait_for(lambda: not objects(moto), timeout=60, what="the purge to remove the index's objects and marker")
    finally:
        server.stop()


def test_two_writers_of_one_index_never_overwrite_each_others_acknowledged_writes(moto, root):
    """Split brain on purpose: a copy of a data directory started beside the original, both on one bucket, so two
    servers hold the same index and each takes writes. Each log object is created only where absent, so the second
    writer of a sequence is refused (503) and reloads the index from the bucket before its next write; every
    acknowledged write of either is in the bucket afterwards."""
    first_dir, second_dir, key = os.path.join(root, "a"), os.path.join(root, "b"), new_api_key()
    first = start(first_dir, key, moto.url)
    second = None
    try:
        make_index(Pinecone(api_key=key, host=first.url)).upsert(vectors=records(0, 10))
        assert first.stop() == 0
        shutil.copytree(first_dir, second_dir)
        first, second = start(first_dir, key, moto.url), start(second_dir, key, moto.url)
        on_first, on_second = open_index(first, key), open_index(second, key)
        # Both open the index (an index opens at its first request, from what the bucket holds then).
        assert count(on_first) == count(on_second) == 10

        on_first.upsert(vectors=records(10, 1))
        path = "/data/" + Pinecone(api_key=key, host=second.url).describe_index("stored").host.split("/data/")[1]
        late = {"vectors": [{"id": "b0", "values": [1, 2, 3, 4]}]}
        status, body = raw_request(second, "POST", path + "/vectors/upsert", late)
        assert status == 503 and "reloaded" in body["message"], (status, body)
        # Reloaded from the bucket: the same write now goes in after the first server's, which it now also serves.
        assert raw_request(second, "POST", path + "/vectors/upsert", late)[0] == 200
        assert set(on_second.fetch(ids=["v10", "b0"]).vectors) == {"v10", "b0"}
        # And the first server, behind now, is refused the same way once, then writes after the second's.
        status, _ = raw_request(first, "POST", path + "/vectors/upsert", {"vectors": [{"id": "a1", "values": [4, 3, 2, 1]}]})
        assert status == 503
        assert raw_request(first, "POST", path + "/vectors/upsert", {"vectors": [{"id": "a1", "values": [4, 3, 2, 1]}]})[0] == 200

        kill(first)
        kill(second)
        shutil.rmtree(os.path.join(first_dir, "indexes"))
        first = start(first_dir, key, moto.url)
        assert count(open_index(first, key)) == 13
        assert set(open_index(first, key).fetch(ids=["v0", "v9", "v10", "b0", "a1"]).vectors) == {"v0", "v9", "v10", "b0", "a1"}
    finally:
        for server in (first, second):
            if server and server.process:
                server.stop()


def test_a_damaged_cached_file_is_fetched_again_from_the_bucket(moto, root):
    """Without an index store a damaged file refuses service (see test_crash.py); with one, the directory is a cache and
    the damaged copy is replaced by the bucket's."""
    data_dir, key = os.path.join(root, "data"), new_api_key()
    server = start(data_dir, key, moto.url, "--compact-after-log-files", "2")
    try:
        index = make_index(Pinecone(api_key=key, host=server.url))
        for batch in range(4):
            index.upsert(vectors=records(batch * 25, 25))
        wait_for(lambda: "manifest" in index_objects(moto)[1], what="a compaction in the bucket")
        index_id, _ = index_objects(moto)
        assert server.stop() == 0
        segments = os.path.join(data_dir, "indexes", index_id, "segments")
        [segment] = os.listdir(segments)
        with open(os.path.join(segments, segment), "r+b") as file:
            file.seek(os.path.getsize(file.name) // 2)
            byte = file.read(1)
            file.seek(-1, os.SEEK_CUR)
            file.write(bytes([byte[0] ^ 0xFF]))
        server = start(data_dir, key, moto.url)
        index = open_index(server, key)
        assert count(index) == 100
        assert index.fetch(ids=["v42"]).vectors["v42"].metadata == {"n": 42, "note": MARKER}
    finally:
        if server.process:
            server.stop()
