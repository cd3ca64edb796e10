"""Data-plane benchmark: the official Python SDK (pinecone 10.x) against a release `conifer serve` over
loopback, one client. Prints upsert throughput, exact-query latency, recovery time after SIGKILL and bytes
on disk per vector. Not a test: it asserts nothing, it measures.

    swift build -c release --product conifer
    python3 -m venv /tmp/bench && /tmp/bench/bin/pip install pinecone==10.2.0 numpy
    /tmp/bench/bin/python benchmarks/data_plane.py --binary .build/release/conifer
"""
import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import numpy as np
from pinecone import Pinecone, ServerlessSpec

DIMENSION = 768

# Conifer enforces Pinecone's per-second rate limits by default; a benchmark measures the engine, not them.
UNLIMITED = "upsert=0,query=0,fetch=0,update=0,delete=0,list=0,control=0"


def start(binary, data_dir, key, *extra):
    env = dict(os.environ, CONIFER_BOOTSTRAP_API_KEY=key)
    started = time.perf_counter()
    process = subprocess.Popen(
        [binary, "serve", "--data-dir", data_dir, "--port", "0", "--log-level", "warning", *extra, "--rate-limits", UNLIMITED],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    for line in process.stdout:
        match = re.match(r"Conifer listening on http://\S+:(\d+)", line)
        if match:
            return process, f"http://localhost:{match.group(1)}", started
    raise RuntimeError("server did not start")


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def vectors(rng, start, count):
    data = rng.standard_normal((count, DIMENSION), dtype=np.float32)
    return [
        {"id": f"v{start + i:07d}", "values": data[i].tolist(), "metadata": {"category": (start + i) % 10, "title": f"doc {start + i}"}}
        for i in range(count)
    ]


def upsert(index, rng, start, total, batch):
    began = time.perf_counter()
    for offset in range(start, start + total, batch):
        index.upsert(vectors=vectors(rng, offset, min(batch, start + total - offset)))
    return total / (time.perf_counter() - began)


def query_latency(index, rng, queries, filtered):
    samples = []
    for _ in range(queries):
        q = rng.standard_normal(DIMENSION, dtype=np.float32).tolist()
        began = time.perf_counter()
        if filtered:
            index.query(vector=q, top_k=10, filter={"category": {"$eq": 3}})
        else:
            index.query(vector=q, top_k=10)
        samples.append((time.perf_counter() - began) * 1000)
    return percentile(samples, 50), percentile(samples, 99)


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/conifer")
    parser.add_argument("--large", type=int, default=100_000, help="vectors in the large index")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    root = tempfile.mkdtemp(prefix="conifer-bench-")
    data_dir = os.path.join(root, "data")
    key = "pcsk_bench_" + secrets.token_hex(20)
    # Batches of 1,000 768-d vectors are ~8 MB of JSON, over Pinecone's 2 MB limit: raise it for the
    # benchmark, and keep compaction away so that recovery replays the whole log.
    flags = ["--max-request-bytes", str(64 << 20), "--compact-after-log-files", "1000000", "--compact-after-log-mib", "1000000"]
    process, url, _ = start(args.binary, data_dir, key, *flags)
    try:
        pc = Pinecone(api_key=key, host=url)
        for batch in (100, 1000):
            name = f"upsert-{batch}"
            pc.create_index(name=name, dimension=DIMENSION, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
            rate = upsert(pc.Index(name=name), rng, 0, 20_000, batch)
            print(f"upsert 768-d, batches of {batch:>4}: {rate:8.0f} vectors/s (20,000 vectors)")
            pc.delete_index(name)

        pc.create_index(name="search", dimension=DIMENSION, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
        index = pc.Index(name="search")
        upsert(index, rng, 0, 10_000, 1000)
        for filtered in (False, True):
            p50, p99 = query_latency(index, rng, args.queries, filtered)
            print(f"query 10k x 768-d, topK 10, {'filter 10%' if filtered else 'no filter '}: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
        upsert(index, rng, 10_000, args.large - 10_000, 1000)
        for filtered in (False, True):
            p50, p99 = query_latency(index, rng, args.queries, filtered)
            print(f"query {args.large // 1000}k x 768-d, topK 10, {'filter 10%' if filtered else 'no filter '}: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
        log_bytes = directory_bytes(os.path.join(data_dir, "indexes"))
        print(f"on disk, write log: {log_bytes / args.large:8.0f} bytes per vector ({log_bytes / 2**20:.0f} MiB for {args.large:,})")

        process.send_signal(signal.SIGKILL)
        process.wait()
        process, url, started = start(args.binary, data_dir, key, *flags)
        index = Pinecone(api_key=key, host=url).Index(name="search")
        count = index.describe_index_stats().total_vector_count
        print(f"recovery after SIGKILL, {count:,} vectors in the log: {time.perf_counter() - started:6.2f} s to the first answer")

        process.send_signal(signal.SIGTERM)
        process.wait()
        process, url, _ = start(args.binary, data_dir, key, "--compact-after-log-files", "1")
        index = Pinecone(api_key=key, host=url).Index(name="search")
        index.describe_index_stats()  # opens the store; the compaction service folds the log within seconds
        deadline = time.time() + 120
        wal = None
        while time.time() < deadline:
            wal = [p for p in os.scandir(os.path.join(data_dir, "indexes")) if os.path.isdir(p.path)]
            logs = [f for d in wal for f in os.listdir(os.path.join(d.path, "wal")) if f.endswith(".log")]
            if not logs:
                break
            time.sleep(0.5)
        segment_bytes = directory_bytes(os.path.join(data_dir, "indexes"))
        print(f"on disk, after compaction: {segment_bytes / args.large:8.0f} bytes per vector (raw float32 is {DIMENSION * 4})")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
