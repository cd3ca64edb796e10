"""Rate limits seen from the official SDK: over the per-index query limit the server answers 429 with
`Retry-After`, and the 10.x SDK's retries (which honour it) make every call succeed. The operator's `/metrics`
shows the 429s, so the limit was really hit."""
import os
import re
import shutil
import tempfile
import urllib.request

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import SDK_MAJOR, Server, new_api_key

pytestmark = pytest.mark.skipif(SDK_MAJOR < 10, reason="the 7.x SDK does not retry 429 answers")


def test_the_sdk_retries_past_the_query_limit(monkeypatch):
    monkeypatch.setenv("CONIFER_METRICS_TOKEN", "rate-test-metrics-token")
    root = tempfile.mkdtemp(prefix="conifer-rate-")
    server = Server(os.path.join(root, "data"), new_api_key(), rate_limits="query=0.5").start()  # one query per 2 s: a burst is refused however slow the machine
    try:
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="limited", dimension=3, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
        index = pc.Index(host=pc.describe_index("limited").host)
        index.upsert(vectors=[("a", [1.0, 0.0, 0.0]), ("b", [0.0, 1.0, 0.0])])
        for _ in range(6):
            assert index.query(vector=[1.0, 0.0, 0.0], top_k=1).matches[0].id == "a"

        request = urllib.request.Request(server.url + "/metrics", headers={"Authorization": "Bearer rate-test-metrics-token"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        refused = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("conifer_http_requests_total{") and 'route="/data/{project_id}/{index_name}/query"' in line and 'status="429"' in line]
        assert refused and refused[0] >= 1, "the limit was never reached: " + "\n".join(l for l in text.splitlines() if "query" in l)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_operator_limits_one_project_on_a_running_server():
    """`conifer org rate-limits set|clear --project ID` on the data directory takes effect at once, for that project."""
    import subprocess

    from conftest import conifer_binary, raw_request

    root = tempfile.mkdtemp(prefix="conifer-rate-project-")
    server = Server(os.path.join(root, "data"), new_api_key()).start()
    try:
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="limited", dimension=3, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
        path = "/data/" + pc.describe_index("limited").host.split("/data/")[1] + "/query"
        project = path.split("/")[2]

        def statuses(count):
            return [raw_request(server, "POST", path, {"vector": [1.0, 0.0, 0.0], "topK": 1})[0] for _ in range(count)]

        def operator(*args):
            return subprocess.run([conifer_binary(), "org", "rate-limits", *args, "--data-dir", server.data_dir, "--project", project],
                                  capture_output=True, text=True, timeout=60)

        assert statuses(4) == [200] * 4
        assert operator("set", "query=fast").returncode == 1, "bad limits are refused"
        assert operator("set", "query=0.1").returncode == 0
        assert statuses(3) == [200, 429, 429]  # one query per 10 s: a burst is refused however slow the machine
        assert operator("clear").returncode == 0
        assert statuses(3) == [200] * 3
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
