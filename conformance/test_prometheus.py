"""Prometheus end to end: a real Prometheus server (Debian's `prometheus`, loopback only) configured with the
scrape configuration of Pinecone's documentation (`http_sd_configs` with the project's API key as bearer
credentials, twice) — only the URL changed to Conifer's and the intervals shortened for a test — discovers the
project's indexes, scrapes them, and answers a query with the right record count."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import Server, new_api_key, raw_request

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus package is not installed (scripts/test installs it)")

CONFIG = """\
global:
  scrape_interval: 1s

scrape_configs:
  - job_name: 'pinecone-serverless-metrics'
    http_sd_configs:
      - url: {url}/prometheus/projects/{project}/metrics/discovery
        refresh_interval: 1s
        authorization:
          type: Bearer
          credentials: {key}
    authorization:
      type: Bearer
      credentials: {key}
"""


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def query(port, expression):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["data"]["result"]


def test_prometheus_discovers_scrapes_and_answers_with_the_record_count():
    root = tempfile.mkdtemp(prefix="conifer-prometheus-")
    server = Server(os.path.join(root, "data"), new_api_key()).start()
    prometheus = None
    try:
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="prom-idx", dimension=3, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
        index = pc.Index(host=pc.describe_index("prom-idx").host)
        index.upsert(vectors=[(f"v{i}", [float(i), 1.0, 0.5]) for i in range(7)])
        index.upsert(vectors=[("v0", [0.0, 2.0, 0.5])])  # an overwrite: still 7 records, 2 upsert requests
        project = server_project(server)

        port = free_port()
        config = os.path.join(root, "prometheus.yml")
        with open(config, "w") as handle:
            handle.write(CONFIG.format(url=server.url, project=project, key=server.api_key))
        prometheus = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={os.path.join(root, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "prometheus.log"), "w"))

        deadline = time.time() + 90
        records, upserts = None, None
        while time.time() < deadline:
            try:
                records = query(port, 'pinecone_db_record_total{index_name="prom-idx"}')
                upserts = query(port, 'pinecone_db_op_upsert_total{index_name="prom-idx"}')
            except OSError:
                pass
            if records and upserts:
                break
            time.sleep(0.5)
        assert records, f"Prometheus never scraped the index; see {root}/prometheus.log"
        assert records[0]["value"][1] == "7", records
        labels = records[0]["metric"]
        assert (labels["cloud"], labels["region"], labels["capacity_mode"]) == ("aws", "us-east-1", "serverless"), labels
        assert upserts[0]["value"][1] == "2", upserts
    finally:
        if prometheus:
            prometheus.terminate()
            prometheus.wait(timeout=15)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def server_project(server):
    """The bootstrap project's id, from an index host (`…/data/<project>/<index>`)."""
    status, listed = raw_request(server, "GET", "/indexes")
    assert status == 200, listed
    host = listed["indexes"][0]["host"]
    return host.split("/data/")[1].split("/")[0]
