"""Latency under attack (issue 7): /health and a small data-plane query, probed one at a time while
  (a) 8 clients hammer the password grant with wrong passwords, with sign-in throttling on and off
      (off shows the bound on password hashing alone), and
  (b) 2 clients send the largest filter Conifer accepts (1,000 clauses, 10,000 $in values) against 10,000 records.
Each phase is measured side by side with an unloaded baseline in the same run. Not a test: it prints figures.

    swift build -c release --product conifer
    python3 benchmarks/under_attack.py --binary .build/release/conifer
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time

KEY = "pcsk_bench_" + "a" * 40
CLIENT_ID, CLIENT_SECRET = "bench-owner", "bench-owner-secret-0123456789abcdef"

# Conifer enforces Pinecone's per-second rate limits by default; a benchmark measures the engine, not them.
UNLIMITED = "upsert=0,query=0,fetch=0,update=0,delete=0,list=0,control=0"


def start(binary, data_dir, *extra):
    env = dict(os.environ, CONIFER_BOOTSTRAP_API_KEY=KEY, CONIFER_BOOTSTRAP_CLIENT_ID=CLIENT_ID, CONIFER_BOOTSTRAP_CLIENT_SECRET=CLIENT_SECRET)
    process = subprocess.Popen(
        [binary, "serve", "--data-dir", data_dir, "--port", "0", "--log-level", "error", *extra, "--rate-limits", UNLIMITED],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    for line in process.stdout:
        match = re.match(r"Conifer listening on http://\S+:(\d+)", line)
        if match:
            return process, int(match.group(1))
    raise RuntimeError("server did not start")


def request(conn, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body)
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", "Api-Key": KEY, **(headers or {})})
    response = conn.getresponse()
    payload = response.read()
    return response.status, payload


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def probe(port, seconds, path_query, query):
    """Alternating /health and query probes for `seconds`; returns (health ms, query ms)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    health, queries = [], []
    end = time.time() + seconds
    while time.time() < end:
        began = time.perf_counter()
        status, _ = request(conn, "GET", "/health")
        assert status == 200
        health.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        status, body = request(conn, "POST", path_query, query)
        assert status == 200, body
        queries.append((time.perf_counter() - began) * 1000)
        time.sleep(0.01)
    return health, queries


def attack(port, worker, seconds, statuses):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    end = time.time() + seconds
    while time.time() < end:
        status = worker(conn)
        statuses[status] = statuses.get(status, 0) + 1


def run_phase(name, port, path_query, query, workers, seconds):
    statuses = {}
    threads = [threading.Thread(target=attack, args=(port, w, seconds + 1, statuses)) for w in workers]
    for t in threads:
        t.start()
    time.sleep(0.5)
    health, queries = probe(port, seconds, path_query, query)
    for t in threads:
        t.join()
    print(f"{name:58s} health p50 {percentile(health, 50):6.1f} p99 {percentile(health, 99):6.1f} ms | "
          f"query p50 {percentile(queries, 50):6.1f} p99 {percentile(queries, 99):6.1f} ms | "
          f"{len(health)} probes | attacker answers {dict(sorted(statuses.items()))}")


def wrong_password(conn):
    email = random.choice(["victim@example.com", f"nobody{random.randint(0, 10**6)}@example.com"])
    status, _ = request(conn, "POST", "/oauth/token", {"grant_type": "password", "username": email, "password": "wrong-password-123"})
    return status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/conifer")
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    random.seed(7)
    root = tempfile.mkdtemp(prefix="conifer-attack-")
    try:
        for throttling in (True, False):
            extra = [] if throttling else ["--login-failures-per-account", "1000000000", "--login-failures-per-source", "1000000000"]
            process, port = start(args.binary, os.path.join(root, f"data-{throttling}"), *extra)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                _, token = request(conn, "POST", "/oauth/token", {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
                token = json.loads(token)["access_token"]
                status, _ = request(conn, "POST", "/admin/invites", {"email": "victim@example.com", "role_bindings": [{"resource_type": "organization", "role": "OrgMember"}]},
                                    {"Authorization": f"Bearer {token}"})
                status, body = request(conn, "POST", "/indexes", {"name": "bench", "dimension": 64, "metric": "cosine", "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}})
                path = json.loads(body)["host"].split(str(port), 1)[1]
                for start_id in range(0, 10_000, 500):
                    vectors = [{"id": f"v{i}", "values": [random.gauss(0, 1) for _ in range(64)], "metadata": {"n": i % 1000, "g": f"g{i % 7}"}}
                               for i in range(start_id, start_id + 500)]
                    status, _ = request(conn, "POST", path + "/vectors/upsert", {"vectors": vectors})
                    assert status == 200
                query = {"topK": 10, "vector": [random.gauss(0, 1) for _ in range(64)]}
                if throttling:
                    run_phase("baseline (no attack)", port, path + "/query", query, [], args.seconds)
                label = "on" if throttling else "off"
                run_phase(f"8 clients, wrong passwords, throttling {label}", port, path + "/query", query, [wrong_password] * 8, args.seconds)
                if throttling:
                    # The largest accepted filter: 500 $or members with 20 $in values each (1,000 clauses, 10,000
                    # values), none of which match, so every record evaluates every clause.
                    largest = {"$or": [{"n": {"$in": [100_000 + m * 20 + v for v in range(20)]}} for m in range(500)]}
                    big_query = {"topK": 10, "vector": query["vector"], "filter": largest}

                    def big_filter(c):
                        return request(c, "POST", path + "/query", big_query)[0]

                    began = time.perf_counter()
                    assert big_filter(conn) == 200
                    print(f"one largest-filter query alone: {(time.perf_counter() - began) * 1000:.0f} ms")
                    run_phase("2 clients, largest allowed filter", port, path + "/query", query, [big_filter] * 2, args.seconds)
            finally:
                process.terminate()
                process.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
