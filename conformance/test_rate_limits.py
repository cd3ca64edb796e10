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
