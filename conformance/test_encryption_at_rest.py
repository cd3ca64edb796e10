"""Encryption at rest, seen from outside: records written through the SDK leave no readable byte under the
data directory, a wrong master key stops the server before it serves, and `conifer admin rotate-master-key`
re-wraps the keys without rewriting data files."""
import hashlib
import os
import secrets
import shutil
import struct
import subprocess
import tempfile
import time

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import SDK_MAJOR, Server, conifer_binary, new_api_key, raw_request

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")
# Values whose float32 bytes are unlikely anywhere by chance.
VECTOR = [1234.5678, -0.000123456, 98765.4321, 3.14159265, -2718.2818, 0.5772156, 1.4142135, -1.7320508]


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="conifer-encryption-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def every_file(directory):
    for folder, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                yield path, handle.read()


def write_canaries(server, canary):
    pc = Pinecone(api_key=server.api_key, host=server.url)
    pc.create_index(name="vault", dimension=len(VECTOR), metric="euclidean", spec=SERVERLESS)
    index = pc.Index(host=pc.describe_index("vault").host)
    # Enough separate writes that compaction folds some into a segment and leaves others in the log.
    for i in range(6):
        index.upsert(
            vectors=[{"id": f"{canary}-id-{i}", "values": VECTOR, "metadata": {"secret": f"{canary}-meta-{i}", "n": i}}],
            namespace=f"{canary}-ns",
        )
    fetched = index.fetch(ids=[f"{canary}-id-0"], namespace=f"{canary}-ns")
    assert fetched.vectors[f"{canary}-id-0"].metadata["secret"] == f"{canary}-meta-0"
    return pc, index


def test_no_record_byte_or_secret_appears_anywhere_under_the_data_directory(root):
    canary = "CANARY" + secrets.token_hex(6)
    data_dir = os.path.join(root, "data")
    server = Server(data_dir, new_api_key(), "--compact-after-log-files", "3").start()
    try:
        _, index = write_canaries(server, canary)
        # Wait for the background compaction to write a segment, then leave more in the log after it.
        deadline = time.time() + 30
        while not any("/segments/" in path for path, _ in every_file(data_dir)) and time.time() < deadline:
            time.sleep(0.2)
        index.upsert(vectors=[{"id": f"{canary}-late", "values": VECTOR, "metadata": {"secret": f"{canary}-late"}}], namespace=f"{canary}-ns")
        secrets_to_hide = [server.api_key, server.client_secret]
        if SDK_MAJOR >= 10:
            from test_admin import admin_for

            admin = admin_for(server)
            secrets_to_hide.append(admin.api_keys.create(project_id=admin.projects.list()[0].id, name="extra", roles=["ProjectViewer"]).value)
        assert server.stop() == 0
    finally:
        server.stop()

    files = dict(every_file(data_dir))
    assert any("/segments/" in path for path in files) and any("/wal/" in path for path in files), sorted(files)
    patterns = {"canary": canary.encode(), "vector": struct.pack("<3f", *VECTOR[:3]), "vector tail": struct.pack("<2f", *VECTOR[5:7])}
    for value in secrets_to_hide:
        patterns[f"secret {value[:8]}"] = value.encode()
    for path, content in files.items():
        for name, pattern in patterns.items():
            assert pattern not in content, f"{name} found in plaintext in {path}"


def test_a_wrong_master_key_refuses_to_start_and_the_right_one_reads_everything(root):
    canary = "CANARY" + secrets.token_hex(6)
    data_dir = os.path.join(root, "data")
    right, wrong = secrets.token_hex(32), secrets.token_hex(32)
    api_key = new_api_key()
    os.environ["CONIFER_MASTER_KEY"] = right
    try:
        server = Server(data_dir, api_key).start()
        try:
            write_canaries(server, canary)
        finally:
            assert server.stop() == 0
        assert not os.path.exists(os.path.join(data_dir, "master.key")), "a supplied key must not be written to the data directory"

        for env_key, expected in [(wrong, "Wrong master key"), ("", "master key is not in")]:
            env = dict(os.environ)
            env["CONIFER_MASTER_KEY"] = env_key
            result = subprocess.run(
                [conifer_binary(), "serve", "--data-dir", data_dir, "--port", "0"], env=env, capture_output=True, text=True, timeout=60
            )
            assert result.returncode != 0
            assert expected in result.stderr, result.stderr
            assert right not in result.stderr and wrong not in result.stderr

        server = Server(data_dir, api_key).start()
        try:
            pc = Pinecone(api_key=api_key, host=server.url)
            # By host: SDK 7.x caches an index's host by name across clients (the earlier server's port).
            index = pc.Index(host=pc.describe_index("vault").host)
            assert index.describe_index_stats().namespaces[f"{canary}-ns"].vector_count == 6
        finally:
            server.stop()
    finally:
        del os.environ["CONIFER_MASTER_KEY"]


def test_rotating_the_master_key_rewraps_keys_without_touching_data_files(root):
    canary = "CANARY" + secrets.token_hex(6)
    data_dir = os.path.join(root, "data")
    api_key = new_api_key()
    server = Server(data_dir, api_key).start()
    try:
        write_canaries(server, canary)
        # Not beside a running server: it would keep using the old key for new indexes.
        busy = subprocess.run([conifer_binary(), "admin", "rotate-master-key", "--data-dir", data_dir], capture_output=True, text=True, timeout=60)
        assert busy.returncode != 0 and "in use by another Conifer process" in busy.stderr, busy.stderr
        assert not os.path.exists(os.path.join(data_dir, "master.key.next"))
    finally:
        assert server.stop() == 0
    master_file = os.path.join(data_dir, "master.key")
    with open(master_file) as handle:
        old_key = handle.read().strip()

    def data_files():
        return {
            path: hashlib.sha256(content).hexdigest()
            for path, content in every_file(os.path.join(data_dir, "indexes"))
            if os.path.basename(path) != "key"
        }

    before = data_files()
    result = subprocess.run([conifer_binary(), "admin", "rotate-master-key", "--data-dir", data_dir], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "index data keys re-wrapped: 1" in result.stdout
    with open(master_file) as handle:
        new_key = handle.read().strip()
    assert new_key != old_key and old_key not in result.stdout and new_key not in result.stdout
    assert oct(os.stat(master_file).st_mode & 0o777) == "0o600"
    assert data_files() == before

    env = dict(os.environ, CONIFER_MASTER_KEY=old_key)
    refused = subprocess.run([conifer_binary(), "serve", "--data-dir", data_dir, "--port", "0"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "Wrong master key" in refused.stderr

    server = Server(data_dir, api_key).start()
    try:
        pc = Pinecone(api_key=api_key, host=server.url)
        index = pc.Index(host=pc.describe_index("vault").host)
        assert index.fetch(ids=[f"{canary}-id-5"], namespace=f"{canary}-ns").vectors[f"{canary}-id-5"].metadata["n"] == 5
        # A new index after the rotation is wrapped under the new key too, and the token key still signs.
        status, _ = raw_request(server, "GET", "/indexes")
        assert status == 200
    finally:
        server.stop()


def test_a_deleted_index_is_unreachable_and_keyless_at_once_and_gone_after_the_purge_window(root):
    canary = "CANARY" + secrets.token_hex(6)
    data_dir = os.path.join(root, "data")
    server = Server(data_dir, new_api_key(), "--purge-after-seconds", "4").start()
    try:
        pc, index = write_canaries(server, canary)
        indexes = os.path.join(data_dir, "indexes")
        (index_id,) = [name for name in os.listdir(indexes) if name != "deleted"]
        pc.delete_index("vault")
        status, _ = raw_request(server, "GET", "/indexes/vault")
        assert status == 404
        retired = os.path.join(indexes, "deleted", index_id)
        assert not os.path.exists(os.path.join(indexes, index_id))
        assert os.path.isdir(retired) and not os.path.exists(os.path.join(retired, "key")), "the data key must be destroyed at deletion"
        assert any(os.scandir(os.path.join(retired, "wal")))
        # A new index of the same name starts empty.
        pc.create_index(name="vault", dimension=len(VECTOR), metric="euclidean", spec=SERVERLESS)
        fresh = pc.Index(host=pc.describe_index("vault").host)
        assert fresh.describe_index_stats().total_vector_count == 0
        deadline = time.time() + 20
        while os.path.exists(retired) and time.time() < deadline:
            time.sleep(0.25)
        assert not os.path.exists(retired), "the deleted index's files outlived the purge window"
    finally:
        server.stop()
