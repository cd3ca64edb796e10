"""A restarted server keeps what it acknowledged and ignores a later bootstrap key."""
import os
import shutil
import tempfile

from pinecone import Pinecone, ServerlessSpec

from conftest import Server, expect_status, new_api_key, tags_of


def test_restart_keeps_indexes():
    root = tempfile.mkdtemp(prefix="conifer-restart-")
    data_dir = os.path.join(root, "data")
    key = new_api_key()
    server = Server(data_dir, key).start()
    try:
        pc = Pinecone(api_key=key, host=server.url)
        pc.create_index(name="survivor", dimension=5, metric="dotproduct", spec=ServerlessSpec(cloud="aws", region="us-east-1"), tags={"k": "v"})
        server.stop()

        later = Server(data_dir, new_api_key()).start()
        server = later
        pc = Pinecone(api_key=key, host=later.url)
        described = pc.describe_index("survivor")
        assert described.dimension == 5
        assert described.metric == "dotproduct"
        assert tags_of(described) == {"k": "v"}
        assert described.host.startswith(later.url)
        expect_status(401, Pinecone(api_key=later.api_key, host=later.url).list_indexes)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
