"""Backup and restore time and throughput for an index of 100,000 × 768 vectors, with the local backup store and
with an S3 store (moto's server on loopback, `--backup-store s3://…`; the same data directory restarted with it),
and the backup's size against the index's size on disk.

    CONIFER_BIN=.build/release/conifer python benchmarks/backups.py [--records 100000] [--dimension 768] [--stores local s3]

Prints the upload time (for scale), then per store the backup's time, records/s and MB/s, the restore job's time
and records/s (until the restored index is Ready) with the server's memory before and at most during it, and
both sizes.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from conftest import Server, new_api_key  # noqa: E402
from metering import request  # noqa: E402


def size_of(path):
    return sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(path) for name in names)


def rss(server):
    """The server process's resident memory in bytes."""
    with open(f"/proc/{server.process.pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def measure(server, label, records):
    """Takes a backup of `bench` and restores it into `bench-restored` (deleted afterwards); prints the figures."""
    conn = http.client.HTTPConnection("localhost", urlparse(server.url).port, timeout=1800)
    path = urlparse(request(conn, "GET", "/indexes/bench", server.api_key)["host"]).path
    started = time.perf_counter()
    backup = request(conn, "POST", "/indexes/bench/backups", server.api_key, {"name": f"bench-{label}"})
    taken = time.perf_counter() - started
    index_bytes = size_of(os.path.join(server.data_dir, "indexes", backup["source_index_id"]))
    assert backup["record_count"] == records, backup
    print(f"{label:5s} backup:  {taken:6.2f} s, {records / taken:9.0f} records/s, {backup['size_bytes'] / taken / 1e6:7.1f} MB/s")
    print(f"{label:5s} sizes:   backup {backup['size_bytes'] / 1e6:.1f} MB, index on disk {index_bytes / 1e6:.1f} MB "
          f"(backup/index {backup['size_bytes'] / index_bytes:.2f})")
    before = rss(server)
    peak = before
    started = time.perf_counter()
    job = request(conn, "POST", f"/backups/{backup['backup_id']}/create-index", server.api_key, {"name": "bench-restored"})
    while True:
        state = request(conn, "GET", f"/restore-jobs/{job['restore_job_id']}", server.api_key)
        peak = max(peak, rss(server))
        if state["status"] in ("Completed", "Failed"):
            break
        time.sleep(0.05)
    restored = time.perf_counter() - started
    assert state["status"] == "Completed", state
    stats = request(conn, "POST", f"{path.replace('/bench', '/bench-restored')}/describe_index_stats", server.api_key, {})
    assert stats["totalVectorCount"] == records, stats
    print(f"{label:5s} restore: {restored:6.2f} s, {records / restored:9.0f} records/s (job to Ready); "
          f"server memory {before / 1e6:.0f} MB before, {peak / 1e6:.0f} MB at most during it")
    request(conn, "DELETE", "/indexes/bench-restored", server.api_key)
    conn.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--dimension", type=int, default=768)
    parser.add_argument("--stores", nargs="+", default=["local", "s3"], choices=["local", "s3"])
    args = parser.parse_args()
    rng = random.Random(9)
    root = tempfile.mkdtemp(prefix="conifer-backup-bench-")
    data = os.path.join(root, "data")
    api_key = new_api_key()
    server = Server(data, api_key).start()
    moto = None
    try:
        conn = http.client.HTTPConnection("localhost", urlparse(server.url).port, timeout=600)
        request(conn, "POST", "/indexes", server.api_key, {"name": "bench", "dimension": args.dimension, "metric": "cosine",
                                                           "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}})
        path = urlparse(request(conn, "GET", "/indexes/bench", server.api_key)["host"]).path
        batch = max(1, min(1000, 1_500_000 // (args.dimension * 9)))
        started = time.perf_counter()
        for first in range(0, args.records, batch):
            vectors = [{"id": f"r{i}", "values": [round(rng.random(), 6) for _ in range(args.dimension)]}
                       for i in range(first, min(first + batch, args.records))]
            request(conn, "POST", f"{path}/vectors/upsert", server.api_key, {"vectors": vectors})
        conn.close()
        print(f"{args.records} records of {args.dimension} dimensions uploaded in {time.perf_counter() - started:.1f} s")
        for store in args.stores:
            if store == "s3":
                from test_audit_export import AWS_ENV, Moto  # noqa: E402
                moto = Moto().start()
                moto.s3.create_bucket(Bucket="bench-backups")
                server.stop()
                server = Server(data, api_key, "--backup-store", "s3://bench-backups/conifer", env=dict(AWS_ENV, AWS_ENDPOINT_URL=moto.url)).start()
            measure(server, store, args.records)
    finally:
        server.stop()
        if moto:
            moto.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
