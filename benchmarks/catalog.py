"""Admin API and catalog-bound request latency with the catalog in SQLite (the data directory's) and in PostgreSQL
(`--catalog`), measured side by side in one run: two servers, each with the same organization (10 projects, 25 API
keys in the measured one, 10 service accounts, an index), and the same requests sent to each in turn over one
keep-alive loopback connection per server.

    CONIFER_BIN=.build/release/conifer CONIFER_TEST_POSTGRES_URL=postgres://… python benchmarks/catalog.py [--requests 300]

Reads: the Admin API's project list, a project's key list, one project; a write: create and delete an API key (two
audited write transactions); and two requests every API call makes before its work — a control-plane list of
indexes and a data-plane describe_index_stats with an API key (authentication and the index's lookup, which a shared
catalog does not cache across requests yet). p50 and p99 per request kind and catalog, and their ratio.
"""
import argparse
import base64
import http.client
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from conftest import Server, admin as admin_call, new_api_key, token  # noqa: E402


def populate(server):
    def admin(method, path, body=None):
        status, answer = admin_call(server, method, path, body)
        assert status < 300, (path, status, answer)
        return answer

    for i in range(10):
        admin("POST", "/admin/service-accounts", {"name": f"robot-{i}", "role_bindings": [{"resource_type": "organization", "role": "OrgMember"}]})
    projects = [admin("POST", "/admin/projects", {"name": f"project-{i}"})["id"] for i in range(10)]
    for i in range(25):
        admin("POST", f"/admin/projects/{projects[0]}/api-keys", {"name": f"key-{i}", "roles": ["ProjectEditor"]})
    key = admin("POST", f"/admin/projects/{projects[0]}/api-keys", {"name": "bench", "roles": ["ProjectEditor"]})["value"]
    return projects[0], key


class Client:
    def __init__(self, server, project, key):
        url = urlparse(server.url)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.project, self.key, self.bearer = project, key, token(server)
        status, body = self.call("POST", "/indexes", {"name": "docs", "dimension": 8, "metric": "cosine",
                                                      "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}}, key=True)
        assert status == 201, body
        self.stats = urlparse(body["host"]).path + "/describe_index_stats"

    def call(self, method, path, body=None, key=False):
        headers = {"Content-Type": "application/json"}
        headers.update({"Api-Key": self.key} if key else {"Authorization": f"Bearer {self.bearer}"})
        self.connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        reply = self.connection.getresponse()
        payload = reply.read()
        return reply.status, (json.loads(payload) if payload else None)

    def kinds(self):
        def create_and_delete():
            status, created = self.call("POST", f"/admin/projects/{self.project}/api-keys", {"name": "churn", "roles": ["ProjectViewer"]})
            assert status < 300, created
            assert self.call("DELETE", f"/admin/api-keys/{created['key']['id']}")[0] < 300

        return {
            "GET /admin/projects": lambda: self.call("GET", "/admin/projects"),
            "GET /admin/projects/{id}/api-keys (26)": lambda: self.call("GET", f"/admin/projects/{self.project}/api-keys"),
            "GET /admin/projects/{id}": lambda: self.call("GET", f"/admin/projects/{self.project}"),
            "create + delete an API key": create_and_delete,
            "GET /indexes (API key)": lambda: self.call("GET", "/indexes", key=True),
            "describe_index_stats (API key)": lambda: self.call("POST", self.stats, {}, key=True),
        }


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    postgres = os.environ.get("CONIFER_TEST_POSTGRES_URL")
    if not postgres:
        sys.exit("Set CONIFER_TEST_POSTGRES_URL to a PostgreSQL server this benchmark may create a database on.")
    database = "conifer_bench_" + secrets.token_hex(6)
    subprocess.run(["psql", postgres, "-qc", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    root = tempfile.mkdtemp(prefix="conifer-catalog-bench-")
    shared = {"CONIFER_CATALOG_URL": postgres.rsplit("/", 1)[0] + "/" + database,
              "CONIFER_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    with socket.socket() as probe:  # a server on a shared catalog needs a fixed port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    servers = {
        "SQLite": Server(os.path.join(root, "sqlite"), new_api_key()).start(),
        "PostgreSQL": Server(os.path.join(root, "postgres"), new_api_key(), env=shared, port=port).start(),
    }
    try:
        clients = {name: Client(server, *populate(server)) for name, server in servers.items()}
        kinds = {name: client.kinds() for name, client in clients.items()}
        times = {name: {kind: [] for kind in kinds[name]} for name in clients}
        for kind in kinds["SQLite"]:
            for name in clients:  # warm up
                for _ in range(10):
                    kinds[name][kind]()
            for _ in range(args.requests):
                for name in clients:  # in turn, so both see the same machine
                    start = time.perf_counter()
                    kinds[name][kind]()
                    times[name][kind].append((time.perf_counter() - start) * 1000)
        print(f"{'request':42} {'SQLite p50':>11} {'p99':>8} {'PostgreSQL p50':>15} {'p99':>8} {'p50 ratio':>10}")
        for kind in kinds["SQLite"]:
            s, p = times["SQLite"][kind], times["PostgreSQL"][kind]
            print(f"{kind:42} {statistics.median(s):9.2f}ms {percentile(s, 99):6.2f}ms {statistics.median(p):13.2f}ms "
                  f"{percentile(p, 99):6.2f}ms {statistics.median(p) / statistics.median(s):9.2f}x")
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["psql", postgres, "-qc", f"DROP DATABASE IF EXISTS {database}"], capture_output=True)


if __name__ == "__main__":
    main()
