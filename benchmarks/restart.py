"""Restart time and resident memory of a large index through `conifer serve` (release, loopback).

Loads N clustered 128-d cosine vectors (default 1,000,000) in batches of 1,000 with a keep-alive HTTP
client, waits until the server is idle (graph built and saved by compaction), reports its resident memory
per vector, then kills it with SIGKILL, starts it again and times how long until the first query is
answered (the index is opened on first use: manifest, segment with the graph, log replay), and how long
until a query answers as fast as before the restart. A program that measures; it asserts nothing.

    python3 benchmarks/restart.py [--vectors 1000000]
"""
import argparse
import json
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import search  # noqa: E402  (the server helpers and the data generator)


def resident_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def query_seconds(raw, prefix, body):
    began = time.perf_counter()
    raw.post(f"{prefix}/query", body)
    return time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--server", default=os.path.join(search.ROOT, ".build", "release", "conifer"))
    args = parser.parse_args()
    search.ensure_environment()
    import numpy as np
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((256, 128), dtype=np.float32)
    query = json.dumps({"topK": 10, "vector": search.mixture(rng, 1, 128, centres)[0].tolist()})
    key = "pcsk_restart_" + os.urandom(12).hex()
    with tempfile.TemporaryDirectory() as data_dir:
        process, port = search.start_server(args.server, data_dir, key)
        raw = search.Raw(port, key)
        raw.post("/indexes", json.dumps({"name": "big", "dimension": 128, "metric": "cosine",
                                         "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}}))
        prefix = "/data/" + json.loads(search.http_get(port, key, "/indexes/big"))["host"].split("/data/")[1]
        began = time.perf_counter()
        for start in range(0, args.vectors, 1000):
            rows = search.mixture(rng, min(1000, args.vectors - start), 128, centres)
            raw.post(f"{prefix}/vectors/upsert", json.dumps({"vectors": [{"id": f"v{start + i}", "values": row.tolist()} for i, row in enumerate(rows)]}))
        load = time.perf_counter() - began
        idle = search.wait_until_idle(process.pid, quiet_seconds=3)
        resident = resident_bytes(process.pid)
        warm = sorted(query_seconds(raw, prefix, query) for _ in range(50))[25]
        print(json.dumps({"vectors": args.vectors, "load_seconds": load, "idle_after_seconds": idle,
                          "resident_bytes": resident, "bytes_per_vector": resident / args.vectors, "warm_query_ms": warm * 1000}), flush=True)
        process.send_signal(signal.SIGKILL)
        process.wait()

        started = time.perf_counter()
        process, port = search.start_server(args.server, data_dir, key)
        raw = search.Raw(port, key)
        first = query_seconds(raw, prefix, query)
        first_answer = time.perf_counter() - started
        fast_again = None
        while fast_again is None and time.perf_counter() - started < 600:
            if sorted(query_seconds(raw, prefix, query) for _ in range(20))[10] <= 2 * warm:
                fast_again = time.perf_counter() - started
        print(json.dumps({"restart_to_first_answer_seconds": first_answer, "first_query_seconds": first,
                          "restart_to_warm_speed_seconds": fast_again}), flush=True)
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
