"""What metering and metrics cost, measured side by side in one run: two `conifer serve` processes on the same
machine and the same data, one counting requests for the metrics (per index: requests, milliseconds, read and
write units; per HTTP route: requests and latency) and one started with `--metrics off`, answering the same
queries in interleaved rounds.

    CONIFER_BIN=.build/release/conifer python benchmarks/metering.py [--seconds 30] [--records 20000]

Prints queries per second and median latency for each, and the ratios (the target: at most 3 % fewer queries).
"""
import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from conftest import Server, new_api_key  # noqa: E402

DIMENSION = 128


def request(conn, method, path, key, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body), headers={"Api-Key": key, "Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    assert 200 <= response.status < 300, (response.status, payload[:200])
    return json.loads(payload) if payload else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--records", type=int, default=20000)
    args = parser.parse_args()
    rng = random.Random(11)
    vectors = [{"id": f"r{i}", "values": [rng.random() for _ in range(DIMENSION)], "metadata": {"n": i}} for i in range(args.records)]
    queries = [[rng.random() for _ in range(DIMENSION)] for _ in range(100)]
    root = tempfile.mkdtemp(prefix="conifer-metering-")
    servers = {}
    try:
        for mode in ("on", "off"):
            server = Server(os.path.join(root, mode), new_api_key(), "--metrics", mode).start()
            conn = http.client.HTTPConnection("localhost", int(server.url.rsplit(":", 1)[1]), timeout=60)
            request(conn, "POST", "/indexes", server.api_key, {"name": "bench", "dimension": DIMENSION, "metric": "cosine",
                                                                "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}})
            project = request(conn, "GET", "/indexes", server.api_key)["indexes"][0]["host"].split("/data/")[1].split("/")[0]
            path = f"/data/{project}/bench"
            for start in range(0, len(vectors), 500):
                request(conn, "POST", f"{path}/vectors/upsert", server.api_key, {"vectors": vectors[start:start + 500]})
            servers[mode] = (server, conn, path)

        latencies = {mode: [] for mode in servers}
        deadline = time.time() + args.seconds
        while time.time() < deadline:
            for mode, (server, conn, path) in servers.items():  # interleaved rounds: both see the same machine
                for vector in queries[:25]:
                    started = time.perf_counter()
                    request(conn, "POST", f"{path}/query", server.api_key, {"vector": vector, "topK": 10})
                    latencies[mode].append(time.perf_counter() - started)
        qps = {mode: len(values) / sum(values) for mode, values in latencies.items()}
        median = {mode: statistics.median(values) * 1000 for mode, values in latencies.items()}
        print(f"{args.records} records of {DIMENSION} dimensions, {len(latencies['on'])} queries each over {args.seconds:.0f} s")
        for mode in servers:
            print(f"  metrics {mode:3}: {qps[mode]:8.1f} queries/s, median {median[mode]:.3f} ms")
        print(f"  on/off: queries/s {qps['on'] / qps['off']:.3f}, median latency {median['on'] / median['off']:.3f}")
    finally:
        for server, conn, _ in servers.values():
            conn.close()
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
