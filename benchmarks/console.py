"""The web console's page weight and server time per page, on one server with a populated organization (20 members,
10 service accounts, 10 projects; the measured project with 25 API keys, a private endpoint and an index of 1,000
records in 4 namespaces with two backups).

    CONIFER_BIN=.build/release/conifer python benchmarks/console.py [--requests 300]

For each page: its weight (HTML + the stylesheet + script, which is none) and the time from sending the request to
the last byte of the answer over one keep-alive loopback connection, p50 and p90 over `--requests` fetches, as a
signed-in owner. That time is the server's rendering (catalog reads, template) plus loopback; the `GET /health`
line is the floor of a request that does no work, and the Admin API's JSON lists of projects and users (a bearer
token, the same catalog reads) are what the console's pages cost without their page, measured in the same run.
"""
import argparse
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
from urllib.parse import urlencode, urlparse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from conftest import Server, admin as admin_call, new_api_key, raw_request, token  # noqa: E402

PASSWORD = "a long enough password"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="conifer-console-bench-")
    server = Server(os.path.join(root, "data"), new_api_key()).start()
    try:
        owner = token(server)

        def admin(method, path, body=None):
            status, answer = admin_call(server, method, path, body)
            assert status < 300, (path, status, answer)
            return answer

        def member(email, role):
            invite = admin("POST", "/admin/invites", {"email": email, "role_bindings": [{"resource_type": "organization", "role": role}]})
            assert raw_request(server, "POST", "/oauth/accept-invite", {"token": invite["token"], "password": PASSWORD, "name": email.split("@")[0]})[0] == 200

        member("owner@example.com", "OrgOwner")
        for i in range(19):
            member(f"member{i}@example.com", "OrgMember")
        for i in range(10):
            admin("POST", "/admin/service-accounts", {"name": f"robot-{i}", "role_bindings": [{"resource_type": "organization", "role": "OrgMember"}]})
        projects = [admin("POST", "/admin/projects", {"name": f"project-{i}"})["id"] for i in range(10)]
        for i in range(25):
            admin("POST", f"/admin/projects/{projects[0]}/api-keys", {"name": f"key-{i}", "roles": ["ProjectEditor"]})
        admin("POST", f"/admin/projects/{projects[0]}/private-endpoints", {"name": "office", "region": "us-east-1", "allowed_cidrs": ["10.0.0.0/8"]})
        # An index of 1,000 records in 4 namespaces, two backups, some traffic for the metrics tab.
        key = admin("POST", f"/admin/projects/{projects[0]}/api-keys", {"name": "loader", "roles": ["ProjectEditor"]})["value"]
        assert raw_request(server, "POST", "/indexes", {"name": "docs", "dimension": 8, "metric": "cosine",
                                                        "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}}, api_key=key)[0] == 201
        data = f"/data/{projects[0]}/docs"
        for namespace in range(4):
            vectors = [{"id": f"{namespace}-{i}", "values": [((i * 7 + j) % 11) / 11 + 0.01 for j in range(8)], "metadata": {"n": i}}
                       for i in range(250)]
            assert raw_request(server, "POST", f"{data}/vectors/upsert", {"vectors": vectors, "namespace": f"ns{namespace}"}, api_key=key)[0] == 200
        for _ in range(50):
            raw_request(server, "POST", f"{data}/query", {"vector": [0.5] * 8, "topK": 10, "namespace": "ns0"}, api_key=key)
        for name in ("nightly", "weekly"):
            assert raw_request(server, "POST", "/indexes/docs/backups", {"name": name}, api_key=key)[0] in (200, 201)

        port = urlparse(server.url).port
        connection = http.client.HTTPConnection("localhost", port, timeout=60)
        origin = f"http://localhost:{port}"
        connection.request("POST", "/console/sign-in", urlencode({"email": "owner@example.com", "password": PASSWORD}),
                           {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin})
        answer = connection.getresponse()
        answer.read()
        cookie = answer.getheader("Set-Cookie").split(";")[0]
        assert answer.status == 303, answer.status

        def fetch(path, headers):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
            assert response.status == 200, (path, response.status, body[:300])
            return body, elapsed

        stylesheet, _ = fetch("/console/style.css", {})
        pages = {
            "overview (/console)": "/console",
            "members": "/console/members",
            "service accounts": "/console/service-accounts",
            "project (25 API keys)": f"/console/projects/{projects[0]}",
            "indexes": f"/console/projects/{projects[0]}/indexes",
            "index (4 namespaces)": f"/console/projects/{projects[0]}/indexes/docs",
            "query tool (top 10)": f"/console/projects/{projects[0]}/indexes/docs/query?vector=" + ",".join(["0.5"] * 8) + "&top_k=10&namespace=ns1",
            "metrics tab": f"/console/projects/{projects[0]}/indexes/docs/metrics",
            "latency chart (SVG)": f"/console/projects/{projects[0]}/indexes/docs/metrics/latency",
            "backups": f"/console/projects/{projects[0]}/backups",
            "billing": "/console/billing",
            "audit log": "/console/audit-log",
        }
        print(f"{'page':<26} {'HTML':>8} {'+CSS':>8} {'+JS':>5} {'total':>8}   {'p50 ms':>7} {'p90 ms':>7}")
        rows = []
        api = {"Authorization": f"Bearer {owner}"}
        floors = [("GET /health (floor)", "/health", {}), ("GET /admin/projects (API)", "/admin/projects", api),
                  ("GET /admin/users (API)", "/admin/users", api)]
        for label, path, headers in floors + [(label, path, {"Cookie": cookie}) for label, path in pages.items()]:
            body, _ = fetch(path, headers)
            for _ in range(20):  # warm-up
                fetch(path, headers)
            times = sorted(fetch(path, headers)[1] * 1000 for _ in range(args.requests))
            p50, p90 = statistics.median(times), times[int(len(times) * 0.9)]
            css = len(stylesheet) if path.startswith("/console") and not path.endswith("/latency") else 0
            rows.append((label, len(body), css, p50, p90))
            print(f"{label:<26} {len(body):>8} {css:>8} {0:>5} {len(body) + css:>8}   {p50:>7.3f} {p90:>7.3f}")
        heaviest = sorted(rows[len(floors):], key=lambda row: row[1] + row[2], reverse=True)[:3]
        print("three largest pages:", ", ".join(f"{label} {html + css} B" for label, html, css, _, _ in heaviest))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
