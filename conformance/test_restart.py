"""Process-level behaviour of `conifer serve`: bootstrap, restart, shutdown, refusing insecure listeners."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import Server, conifer_binary, expect_status, new_api_key, tags_of


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="conifer-process-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_restart_keeps_indexes_and_ignores_a_later_bootstrap_key(root):
    data_dir = os.path.join(root, "data")
    key = new_api_key()
    server = Server(data_dir, key).start()
    try:
        pc = Pinecone(api_key=key, host=server.url)
        pc.create_index(name="survivor", dimension=5, metric="dotproduct", spec=ServerlessSpec(cloud="aws", region="us-east-1"), tags={"k": "v"})
        assert server.stop() == 0, "SIGTERM should shut the server down cleanly"

        server = Server(data_dir, new_api_key()).start()
        pc = Pinecone(api_key=key, host=server.url)
        described = pc.describe_index("survivor")
        assert described.dimension == 5
        assert described.metric == "dotproduct"
        assert tags_of(described) == {"k": "v"}
        assert described.host.startswith(server.url)
        expect_status(401, Pinecone(api_key=server.api_key, host=server.url).list_indexes)
    finally:
        server.stop()


def test_generated_bootstrap_key_is_printed_once(root):
    data_dir = os.path.join(root, "data")
    first = Server(data_dir, None).start()
    try:
        printed = re.findall(r"pcsk_[A-Za-z0-9]+_[A-Za-z0-9]+", "".join(first.output))
        assert len(printed) == 1, first.output
        key = printed[0]
        assert [i.name for i in Pinecone(api_key=key, host=first.url).list_indexes()] == []
    finally:
        first.stop()
    second = Server(data_dir, None).start()
    try:
        assert "pcsk_" not in "".join(second.output)
        Pinecone(api_key=key, host=second.url).list_indexes()
    finally:
        second.stop()
    with open(first.log_path, "rb") as log:
        assert key.encode() not in log.read()


def test_refuses_public_listener_without_tls(root):
    result = subprocess.run(
        [conifer_binary(), "serve", "--data-dir", os.path.join(root, "data"), "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "without TLS" in result.stderr
    assert not os.path.exists(os.path.join(root, "data"))
