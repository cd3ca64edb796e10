#!/usr/bin/env python3
"""Audit-log figures, all from one run on this machine:

1. Overhead of auditing on an admin call, on against off: `conifer-audit-bench` (release) alternates blocks of
   project renames through the admin service with and without the audit recorder (organization and actor
   lookups, the event appended and fsynced). For scale, the same call through HTTP (`PATCH /admin/projects`)
   is timed against a running `conifer serve`.
2. Export latency: with `batch_interval_seconds` 1, the time from an admin call's answer until its event is in
   the bucket (moto, loopback), over several calls.
3. Export throughput: N events recorded while the export waits (interval 3600 s), then the interval set to 1 s:
   events per second until the whole backlog is in the bucket.

    python benchmarks/audit.py [--events 5000] [--calls 4000]

Needs boto3 and moto[server] (pip) in the running Python, and builds the release binaries itself.
"""
import argparse
import json
import os
import pathlib
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "conformance"))
os.environ.setdefault("CONIFER_BIN", str(REPO / ".build" / "release" / "conifer"))

import boto3  # noqa: E402
from conftest import Server, new_api_key, raw_request  # noqa: E402
from test_audit_export import AWS_ENV, Moto, operator_allows  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000, help="backlog size for the throughput figure")
    parser.add_argument("--calls", type=int, default=4000, help="admin calls for the on/off figure")
    args = parser.parse_args()
    for product in ["conifer", "conifer-audit-bench"]:
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO, check=True, stdout=subprocess.DEVNULL)

    bench = subprocess.run([str(REPO / ".build" / "release" / "conifer-audit-bench"), "--calls", str(args.calls)],
                           capture_output=True, text=True, check=True)
    overhead = json.loads(bench.stdout)
    print(f"overhead: admin call (project rename, service level) {overhead['audit_off_us']:.0f} us off, "
          f"{overhead['audit_on_us']:.0f} us on: +{overhead['overhead_us']:.0f} us ({overhead['ratio']:.2f}x)")

    os.environ.update(AWS_ENV)
    moto = Moto().start()
    root = tempfile.mkdtemp(prefix="conifer-audit-bench-")
    server = Server(os.path.join(root, "data"), new_api_key(), *operator_allows(moto)).start()
    try:
        _, reply = raw_request(server, "POST", "/oauth/token", {
            "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret})
        owner = reply["access_token"]

        def admin(method, path, body=None):
            status, answer = raw_request(server, method, path, body, bearer=owner)
            assert status < 300, (status, answer)
            return answer

        project = admin("POST", "/admin/projects", {"name": "bench"})["id"]
        timings = []
        for n in range(300):
            start = time.perf_counter()
            admin("PATCH", f"/admin/projects/{project}", {"name": f"bench-{n}"})
            timings.append((time.perf_counter() - start) * 1000)
        print(f"http: PATCH /admin/projects p50 {statistics.median(timings):.2f} ms over 300 calls (audited)")

        def delivered_count(prefix):
            total = 0
            for key, body in moto.objects(prefix).items():
                if not key.endswith("audit-log-access-test"):
                    total += len(json.loads(body))
            return total

        admin("PUT", "/admin/audit-log", {"bucket": "audit-bucket/latency", "endpoint_url": moto.url, "batch_interval_seconds": 1})
        latencies = []
        for n in range(10):
            before = delivered_count("latency/")
            start = time.perf_counter()
            admin("PATCH", f"/admin/projects/{project}", {"name": f"latency-{n}"})
            while delivered_count("latency/") <= before:
                time.sleep(0.05)
            latencies.append(time.perf_counter() - start)
            time.sleep(0.3 * (n % 3))  # land at different points of the batch interval
        print(f"latency: action answered -> event in the bucket, interval 1 s: median {statistics.median(latencies):.2f} s, "
              f"max {max(latencies):.2f} s (10 actions)")

        admin("PATCH", "/admin/audit-log", {"bucket": "audit-bucket/throughput", "batch_interval_seconds": 3600})
        for n in range(args.events):
            admin("PATCH", f"/admin/projects/{project}", {"name": f"backlog-{n}"})
        start = time.perf_counter()
        admin("PATCH", "/admin/audit-log", {"batch_interval_seconds": 1})
        while True:
            status = admin("GET", "/admin/audit-log")["export"]
            if status["pending_batches"] == 0 and status["unbatched_events"] == 0:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        exported = delivered_count("throughput/")
        objects = len(moto.objects("throughput/")) - 1
        print(f"throughput: backlog of {exported} events delivered in {elapsed:.2f} s ({objects} objects): "
              f"{exported / elapsed:,.0f} events/s (includes waiting for the next 1 s tick)")
    finally:
        server.stop()
        moto.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
