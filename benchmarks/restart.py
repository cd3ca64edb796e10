"""Restart time and resident memory of a large index through `conifer serve` (release, loopback).

Loads N clustered 128-d cosine vectors (default 1,000,000) in batches of 1,000 with a keep-alive HTTP
client, waits until the server is idle (graph built and saved by compaction), reports its resident memory
per vector, then kills it with SIGKILL, starts it again and times how long until the first query is
answered (the index is opened on first use: manifest, segment with the graph, log replay), and how long
until a query answers as fast as before the restart, and reports the restarted server's memory per vector. A program that measures; it asserts nothing.

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
    with tempfile.TemporaryDirectory() as data_dir:
        key = "pcsk_restart_" + os.urandom(12).hex()
        query, warm = load(args, data_dir, key)
        restart(args, data_dir, key, query, warm)


def load(args, data_dir, key):
    """Loads the index, waits until the server is idle, reports memory, then kills the server."""
    import numpy as np
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((256, 128), dtype=np.float32)
    query = json.dumps({"topK": 10, "vector": search.mixture(rng, 1, 128, centres)[0].tolist()})
    process, port = search.start_server(args.server, data_dir, key)
    try:
        raw = search.Raw(port, key)
        raw.post("/indexes", json.dumps({"name": "big", "dimension": 128, "metric": "cosine",
                                         "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}}))
        path = prefix(port, key)
        began = time.perf_counter()
        for start in range(0, args.vectors, 1000):
            rows = search.mixture(rng, min(1000, args.vectors - start), 128, centres)
            body = json.dumps({"vectors": [{"id": f"v{start + i}", "values": row.tolist()} for i, row in enumerate(rows)]})
            raw.post(f"{path}/vectors/upsert", body)
        load_seconds = time.perf_counter() - began
        idle = search.wait_until_idle(process.pid, quiet_seconds=3)
        resident = resident_bytes(process.pid)
        warm = sorted(query_seconds(raw, path, query) for _ in range(50))[25]
        print(json.dumps({"vectors": args.vectors, "load_seconds": load_seconds, "idle_after_seconds": idle,
                          "resident_bytes": resident, "bytes_per_vector": resident / args.vectors,
                          "warm_query_ms": warm * 1000}), flush=True)
        return query, warm
    finally:
        process.kill()
        process.wait()


def restart(args, data_dir, key, query, warm):
    """Starts the server on the killed one's files and times the first answer and the return to speed."""
    started = time.perf_counter()
    process, port = search.start_server(args.server, data_dir, key)
    try:
        raw = search.Raw(port, key)
        path = prefix(port, key)
        first = query_seconds(raw, path, query)
        first_answer = time.perf_counter() - started
        fast_again = None
        while fast_again is None and time.perf_counter() - started < 600:
            if sorted(query_seconds(raw, path, query) for _ in range(20))[10] <= 2 * warm:
                fast_again = time.perf_counter() - started
        # A server that opened the index from its files, without the history of loading it.
        resident = resident_bytes(process.pid)
        print(json.dumps({"restart_to_first_answer_seconds": first_answer, "first_query_seconds": first,
                          "restart_to_warm_speed_seconds": fast_again, "resident_bytes_after_restart": resident,
                          "bytes_per_vector_after_restart": resident / args.vectors}), flush=True)
    finally:
        process.kill()
        process.wait()


def prefix(port, key):
    """The data-plane path of the index `big`."""
    return "/data/" + json.loads(search.http_get(port, key, "/indexes/big"))["host"].split("/data/")[1]


if __name__ == "__main__":
    main()
