"""Search speed beside hnswlib on the same machine, the same data and the same queries, in one run.

Conifer's engine (`conifer-bench`, release build, no HTTP) against hnswlib (HNSW, M=16, ef_construction=200)
over seeded random float32 vectors; recall@k of both is measured against an exact numpy reference. Prints
queries per second, recall and the ratio Conifer/hnswlib for several hnswlib `ef` settings (random Gaussian
data is hard for HNSW, so a low `ef` trades recall away). Not a test: it asserts nothing, it measures.

    swift build -c release --product conifer-bench
    python3 -m venv /tmp/bench && /tmp/bench/bin/pip install numpy hnswlib
    /tmp/bench/bin/python benchmarks/search_vs_hnswlib.py --binary .build/release/conifer-bench
"""
import argparse
import os
import subprocess
import tempfile
import time

import hnswlib
import numpy as np


def exact_top_k(base, queries, k):
    """Cosine top-k by brute force in numpy: the reference both engines are scored against."""
    b = base / np.linalg.norm(base, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    truth = []
    for start in range(0, len(q), 100):
        scores = q[start:start + 100] @ b.T
        truth.extend(np.argsort(-scores, axis=1)[:, :k])
    return truth


def recall(found, truth, k):
    return float(np.mean([len(set(map(int, f[:k])) & set(map(int, t[:k]))) / k for f, t in zip(found, truth)]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/conifer-bench")
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef", type=int, nargs="+", default=[64, 256, 1024])
    args = parser.parse_args()

    rng = np.random.default_rng(42)
    base = rng.standard_normal((args.vectors, args.dimension), dtype=np.float32)
    queries = rng.standard_normal((args.queries, args.dimension), dtype=np.float32)
    truth = exact_top_k(base, queries, args.k)
    print(f"{args.vectors} x {args.dimension} float32, {args.queries} queries, top-{args.k}, cosine, {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory() as tmp:
        base_path, query_path, results_path = (os.path.join(tmp, n) for n in ("base.f32", "queries.f32", "results.txt"))
        base.astype("<f4").tofile(base_path)
        queries.astype("<f4").tofile(query_path)
        output = subprocess.run(
            [args.binary, "--base", base_path, "--queries", query_path, "--dimension", str(args.dimension),
             "--metric", "cosine", "--topk", str(args.k), "--results", results_path],
            capture_output=True, text=True, check=True,
        ).stdout
        print(output.strip())
        conifer_qps = float(output.split("ms  ")[-1].split(" queries/s")[0])
        with open(results_path) as f:
            conifer_found = [line.split() for line in f.read().splitlines()]
    conifer_recall = recall(conifer_found, truth, args.k)

    index = hnswlib.Index(space="cosine", dim=args.dimension)
    index.init_index(max_elements=args.vectors, ef_construction=200, M=16, random_seed=42)
    began = time.perf_counter()
    index.add_items(base, np.arange(args.vectors), num_threads=os.cpu_count())
    print(f"hnswlib build: {time.perf_counter() - began:.1f} s")
    index.set_num_threads(1)
    # Conifer's exact scan splits namespaces of 16,384 records or more over every core; hnswlib answers
    # one query per call on one thread, as a server answers them.
    print(f"conifer exact:              {conifer_qps:10.1f} queries/s  recall@{args.k} {conifer_recall:.3f}")
    for ef in args.ef:
        index.set_ef(ef)
        began = time.perf_counter()
        found = [index.knn_query(query, k=args.k)[0][0] for query in queries]
        qps = args.queries / (time.perf_counter() - began)
        print(f"hnswlib M=16 ef={ef:<5d}:       {qps:10.1f} queries/s  recall@{args.k} {recall(found, truth, args.k):.3f}"
              f"   ratio conifer/hnswlib {conifer_qps / qps:.4f} (1/{qps / conifer_qps:.0f})")

if __name__ == "__main__":
    main()
