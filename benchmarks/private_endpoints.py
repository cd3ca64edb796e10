"""What the private-endpoint check costs per request, measured side by side in one run on one server: fetches and
queries on the main listener to an index whose project has no endpoint in its region (the check finds nothing
to match), against the same requests on the private listener to an index whose region has the worst case the
Admin API allows (10 endpoints of 50 address blocks each, the caller matching the last block of the last one).

    CONIFER_BIN=.build/release/conifer python benchmarks/private_endpoints.py [--seconds 20]

Prints requests per second and median latency of each, and the ratios.
"""
import argparse
import http.client
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from conftest import Server, admin, new_api_key  # noqa: E402
from metering import request  # noqa: E402  (the checked JSON request of the metering benchmark)

DIMENSION = 64


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    rng = random.Random(5)
    root = tempfile.mkdtemp(prefix="conifer-private-bench-")
    server = Server(os.path.join(root, "data"), new_api_key(), "--private-listen", "127.0.0.1:0").start()
    try:
        public = http.client.HTTPConnection("localhost", urlparse(server.url).port, timeout=60)
        private = http.client.HTTPConnection("localhost", urlparse(server.private_url()).port, timeout=60)
        paths = {}
        for name, region in (("open", "eu-west-1"), ("guarded", "us-east-1")):
            request(public, "POST", "/indexes", server.api_key, {"name": name, "dimension": DIMENSION, "metric": "cosine",
                                                                 "spec": {"serverless": {"cloud": "aws", "region": region}}})
            paths[name] = urlparse(request(public, "GET", f"/indexes/{name}", server.api_key)["host"]).path
            vectors = [{"id": f"r{i}", "values": [rng.random() for _ in range(DIMENSION)]} for i in range(2000)]
            for start in range(0, len(vectors), 500):
                request(public, "POST", f"{paths[name]}/vectors/upsert", server.api_key, {"vectors": vectors[start:start + 500]})
        project = paths["open"].split("/")[2]
        for e in range(10):
            blocks = [f"10.{e}.{b}.0/24" for b in range(49)] + (["127.0.0.0/8"] if e == 9 else [f"10.{e}.200.0/24"])
            status, reply = admin(server, "POST", f"/admin/projects/{project}/private-endpoints",
                                  {"name": f"e{e}", "region": "us-east-1", "allowed_cidrs": blocks})
            assert status == 201, reply
        query = [rng.random() for _ in range(DIMENSION)]
        cases = {
            "fetch, main listener, no endpoint": (public, f"{paths['open']}/vectors/fetch?ids=r7", "GET", None),
            "fetch, private listener, 10x50 blocks": (private, f"{paths['guarded']}/vectors/fetch?ids=r7", "GET", None),
            "query, main listener, no endpoint": (public, f"{paths['open']}/query", "POST", {"vector": query, "topK": 10}),
            "query, private listener, 10x50 blocks": (private, f"{paths['guarded']}/query", "POST", {"vector": query, "topK": 10}),
        }
        latencies = {name: [] for name in cases}
        deadline = time.time() + args.seconds
        while time.time() < deadline:
            for name, (conn, path, method, body) in cases.items():  # interleaved rounds: all see the same machine
                for _ in range(20):
                    started = time.perf_counter()
                    request(conn, method, path, server.api_key, body)
                    latencies[name].append(time.perf_counter() - started)
        for name, values in latencies.items():
            print(f"  {name:40}: {len(values) / sum(values):8.1f} requests/s, median {statistics.median(values) * 1000:.3f} ms")
        for kind in ("fetch", "query"):
            main_values = latencies[f"{kind}, main listener, no endpoint"]
            private_values = latencies[f"{kind}, private listener, 10x50 blocks"]
            print(f"  {kind}: private/main requests/s {(len(private_values) / sum(private_values)) / (len(main_values) / sum(main_values)):.3f}, "
                  f"median latency +{(statistics.median(private_values) - statistics.median(main_values)) * 1e6:.0f} us")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
