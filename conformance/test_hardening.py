"""Hardening findings of the attack run (issue 7) that need a real process: slow and idle connections are cut
off and capped, and a corrupt write-log file makes its index refuse service until `conifer repair`."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import Server, conifer_binary, new_api_key, raw_request


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="conifer-hardening-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds` (reads until EOF, ignoring any response)."""
    sock.settimeout(seconds)
    deadline = time.time() + seconds
    try:
        while time.time() < deadline:
            if sock.recv(65536) == b"":
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    return False


def connect(server) -> socket.socket:
    port = int(server.url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def test_slow_idle_and_silent_connections_are_closed_and_capped(root):
    server = Server(
        os.path.join(root, "data"), new_api_key(),
        "--header-timeout", "1", "--body-timeout", "2", "--idle-timeout", "2", "--max-connections", "4",
    ).start()
    try:
        # Sends nothing at all.
        silent = connect(server)
        assert closed_within(silent, 4)
        # Drips the request head one byte at a time, faster than any idle timer would notice.
        drip = connect(server)
        started = time.time()
        closed = False
        for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                drip.send(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.1)
        assert closed or closed_within(drip, 3), "a header drip kept its connection open"
        assert time.time() - started < 8
        # Announces a huge body and sends none of it.
        hold = connect(server)
        hold.send(b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n")
        assert closed_within(hold, 5)
        # An idle keep-alive connection is closed after its answer.
        idle = connect(server)
        idle.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        assert closed_within(idle, 5)
        # The cap: four open connections, the fifth waits until one closes.
        held = [connect(server) for _ in range(4)]
        for sock in held:
            sock.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        fifth = connect(server)
        fifth.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        fifth.settimeout(0.5)
        with pytest.raises(socket.timeout):
            fifth.recv(4096)
        for sock in held:
            sock.close()
        fifth.settimeout(5)
        assert fifth.recv(4096).startswith(b"HTTP/1.1 200")
        # Normal clients are unaffected.
        assert raw_request(server, "GET", "/health")[0] == 200
    finally:
        server.stop()


def test_a_corrupt_log_file_refuses_service_until_repaired_and_no_sequence_is_reused(root):
    data_dir = os.path.join(root, "data")
    key = new_api_key()
    server = Server(data_dir, key).start()
    try:
        pc = Pinecone(api_key=key, host=server.url)
        pc.create_index(name="fragile", dimension=2, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
        index = pc.Index(host=pc.describe_index("fragile").host)
        for i in range(5):
            index.upsert(vectors=[(f"r{i}", [1.0, float(i + 1)])])
        assert server.stop() == 0
        index_dirs = os.listdir(os.path.join(data_dir, "indexes"))
        assert len(index_dirs) == 1
        index_id = index_dirs[0]
        wal = os.path.join(data_dir, "indexes", index_id, "wal")
        logs = sorted(os.listdir(wal))
        assert len(logs) == 5
        with open(os.path.join(wal, logs[1]), "r+b") as damaged:
            damaged.seek(30)
            byte = damaged.read(1)
            damaged.seek(30)
            damaged.write(bytes([byte[0] ^ 1]))

        server = Server(data_dir, key).start()
        pc = Pinecone(api_key=key, host=server.url)
        path = "/data/" + pc.describe_index("fragile").host.split("/data/", 1)[1]
        status, body = raw_request(server, "POST", path + "/query", {"topK": 5, "vector": [1.0, 1.0]})
        assert status == 503, body
        assert "repair" in body["message"]
        status, _ = raw_request(server, "POST", path + "/vectors/upsert", {"vectors": [{"id": "x", "values": [1.0, 0.0]}]})
        assert status == 503
        assert server.stop() == 0
        with open(server.log_path) as log:
            text = log.read()
        assert "critical" in text and index_id in text and logs[1] in text

        repaired = subprocess.run(
            [conifer_binary(), "repair", "--data-dir", data_dir, "--index", index_id], capture_output=True, text=True, timeout=60
        )
        assert repaired.returncode == 0, repaired.stderr
        assert "records kept:       1" in repaired.stdout and "next write gets sequence 6" in repaired.stdout

        server = Server(data_dir, key).start()
        pc = Pinecone(api_key=key, host=server.url)
        index = pc.Index(host=pc.describe_index("fragile").host)
        assert sorted(index.fetch(ids=["r0", "r1", "r4"]).vectors.keys()) == ["r0"]
        index.upsert(vectors=[("after", [0.5, 0.5])])
        assert sorted(os.listdir(wal)) == ["00000000000000000006.log"]
        assert len([d for d in os.listdir(os.path.join(data_dir, "indexes", index_id)) if d.startswith("damaged-")]) == 1
    finally:
        server.stop()
