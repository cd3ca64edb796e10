"""Conifer's search engine beside hnswlib, faiss and usearch: same machine, same data, same queries, one run.

Data: a seeded Gaussian mixture shaped like embeddings (clusters of uneven size and spread around random
centres), cosine; 1,000 queries drawn from the same mixture, never from the base; exact top-10 computed
once with numpy and cached under --cache. Every library builds an HNSW graph with M=16,
efConstruction=200 on one thread (Conifer also on two: `conifer-2t`; and walking int8 codes with answers
rescored on the float vectors, which stay in an encrypted memory-mapped file: `conifer-int8`), then answers
each query alone (one query per call, one thread) for a sweep of ef; recall@10 is measured against the
exact answers. Each ef makes --passes passes (3) over the queries and reports the fastest, for every engine
alike: on a shared machine one pass slowed by another process would otherwise decide the figure. Each
engine runs in its own process so its resident memory (what the build added) is its own.

    python3 benchmarks/search.py                   # sets up benchmarks/.venv, builds conifer-bench
    python3 benchmarks/search.py --datasets 100k-128 --ef 16 32 64

Filtered search (Conifer alone): the same base with metadata `bucket = row % 1000`, filters matching 50 %,
10 %, 1 % and 0.1 % of the rows; the planner's recall@10 and QPS beside an exact scan of just the matching
rows. Sparse search: 100,000 random sparse records (Zipf-like vocabulary, IDF-like weights), the inverted
index (MaxScore) beside scoring every record, answers compared.

Then end to end through a release `conifer serve` on loopback (durability on: every upsert is fsynced
before it is answered): upsert rate in batches of 1,000 with a plain keep-alive HTTP client (bodies
serialized beforehand) and with the official SDK; once the graph is built (the server goes idle), query
p50/p99 and QPS with one client and with four, raw HTTP and SDK, and the recall@10 the API serves.

One million vectors, only when asked (`--datasets 1m-768 1m-128`, about an hour): 1m-768 through
`conifer serve` alone, int8 then float32 (ingest rates, time until the graph is built, resident memory and
disk, query p50/p99 and recall, filtered queries matching 5 % and 1 %, SIGKILL and the time from restart
to the first answer); 1m-128 through the engines as above (add `--libraries hnswlib`).

Prints one table and writes every measurement as a JSON line to --out. A program that measures; it
asserts nothing.
"""
import argparse
import functools
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "benchmarks", ".venv")
PACKAGES = ["numpy", "hnswlib", "faiss-cpu", "usearch", "pinecone==10.2.0"]
DATASETS = {"100k-128": (100_000, 128), "50k-768": (50_000, 768)}
# Only when asked for (--datasets 1m-768 1m-128): 1m-768 goes through `conifer serve` alone (float32 and
# int8, see run_million), 1m-128 through the engines (Conifer, hnswlib) as the default datasets do.
LARGE = {"1m-768": (1_000_000, 768), "1m-128": (1_000_000, 128)}
LIBRARIES = ["hnswlib", "faiss", "usearch"]


def ensure_environment():
    """Re-runs this script inside a virtualenv that has the libraries (created on first use)."""
    if os.environ.get("CONIFER_BENCH_VENV") == "1":
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *PACKAGES], check=True)
    os.execve(python, [python, *sys.argv], {**os.environ, "CONIFER_BENCH_VENV": "1"})


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def mixture(rng, count, dimension, centres):
    """Points around `centres` with uneven cluster sizes and spreads, like sentence embeddings."""
    import numpy as np
    weights = rng.dirichlet(np.full(len(centres), 0.5))
    spreads = rng.uniform(0.25, 0.6, len(centres)).astype(np.float32)
    labels = rng.choice(len(centres), size=count, p=weights)
    noise = rng.standard_normal((count, dimension), dtype=np.float32)
    return (centres[labels] + noise * spreads[labels, None]).astype(np.float32)


def dataset(name, cache, queries):
    """Base vectors, queries and exact cosine top-10, generated from a fixed seed and cached."""
    import numpy as np
    count, dimension = {**DATASETS, **LARGE}[name]
    path = os.path.join(cache, f"{name}-q{queries}.npz")
    if os.path.exists(path):
        stored = np.load(path)
        return stored["base"], stored["queries"], stored["truth"]
    rng = np.random.default_rng(20261123)
    centres = rng.standard_normal((256, dimension), dtype=np.float32)
    base = mixture(rng, count, dimension, centres)
    query_rows = mixture(rng, queries, dimension, centres)
    normalized = base / np.linalg.norm(base, axis=1, keepdims=True)
    q = query_rows / np.linalg.norm(query_rows, axis=1, keepdims=True)
    truth = np.concatenate([np.argsort(-(q[i:i + 100] @ normalized.T), axis=1)[:, :10] for i in range(0, len(q), 100)])
    os.makedirs(cache, exist_ok=True)
    np.savez(path, base=base, queries=query_rows, truth=truth)
    return base, query_rows, truth


def recall(found, truth):
    return sum(len(set(f[:10]) & set(t[:10])) for f, t in zip(found, truth)) / (10 * len(truth))


def run_library(library, base_path, query_path, dimension, efs, passes):
    """One library in this process: build on one thread, then one query per call per ef (the fastest of
    `passes` passes over the queries)."""
    import numpy as np
    base = np.fromfile(base_path, dtype="<f4").reshape(-1, dimension)
    queries = np.fromfile(query_path, dtype="<f4").reshape(-1, dimension)
    before = resident_bytes()
    began = time.perf_counter()
    if library == "hnswlib":
        import hnswlib
        index = hnswlib.Index(space="cosine", dim=dimension)
        index.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=42)
        index.add_items(base, np.arange(len(base)), num_threads=1)
        index.set_num_threads(1)

        def search(query, ef):
            index.set_ef(ef)
            return index.knn_query(query, k=10)[0][0]
    elif library == "faiss":
        import faiss
        faiss.omp_set_num_threads(1)
        # Cosine as inner product over normalized vectors (faiss has no cosine metric).
        normalized = base / np.linalg.norm(base, axis=1, keepdims=True)
        index = faiss.IndexHNSWFlat(dimension, 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
        index.add(normalized)
        del normalized

        def search(query, ef):
            index.hnsw.efSearch = ef
            return index.search((query / np.linalg.norm(query))[None, :], 10)[1][0]
    else:
        from usearch.index import Index
        index = Index(ndim=dimension, metric="cos", dtype="f32", connectivity=16, expansion_add=200)
        index.add(np.arange(len(base)), base, threads=1)

        def search(query, ef):
            index.expansion_search = ef
            return index.search(query, 10, threads=1).keys
    build = time.perf_counter() - began
    grown = resident_bytes() - before  # the input rows were counted in `before` too
    del base
    print(json.dumps({"engine": library, "event": "build", "build_seconds": build, "resident_bytes": grown}))
    for ef in efs:
        best = None
        for _ in range(passes):
            latencies, found = [], []
            for query in queries:
                start = time.perf_counter()
                ids = search(query, ef)
                latencies.append(time.perf_counter() - start)
                found.append([int(i) for i in ids])
            if best is None or sum(latencies) < sum(best[0]):
                best = (sorted(latencies), found)
        latencies, found = best
        print(json.dumps({
            "engine": library, "event": "search", "ef": ef, "qps": len(queries) / sum(latencies),
            "p50_ms": latencies[len(latencies) // 2] * 1000, "p99_ms": latencies[len(latencies) * 99 // 100] * 1000,
            "found": found,
        }), flush=True)


def start_server(binary, data_dir, key, *extra):
    env = dict(os.environ, CONIFER_BOOTSTRAP_API_KEY=key)
    # Batches of 1,000 vectors exceed Pinecone's 2 MB request limit (Conifer's default) from 128 dimensions on.
    process = subprocess.Popen([binary, "serve", "--data-dir", data_dir, "--port", "0", "--log-level", "warning", *extra,
                                "--max-request-bytes", str(64 << 20), "--rate-limits", "upsert=0,query=0,fetch=0,update=0,delete=0,list=0,control=0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    for line in process.stdout:
        match = re.match(r"Conifer listening on http://\S+:(\d+)", line)
        if match:
            return process, int(match.group(1))
    raise RuntimeError("server did not start")


def wait_until_idle(pid, quiet_seconds=1.0):
    """Waits until the server uses almost no CPU: its graph builder has caught up with the writes."""
    def cpu():
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    began = time.perf_counter()
    last = cpu()
    while True:
        time.sleep(quiet_seconds)
        now = cpu()
        if now - last < 0.05 * quiet_seconds:
            return time.perf_counter() - began
        last = now


class Raw:
    """A keep-alive HTTP/1.1 client over a plain socket that sends prepared bodies, so the client's own cost
    (no JSON, no http.client parsing) stays small beside the server's. Dials again when the server has
    closed an idle connection."""
    def __init__(self, port, key):
        self.port = port
        self.key = key
        self.socket = None
        self.buffer = b""

    def post(self, path, body):
        return self.call("POST", path, body)

    def call(self, method, path, body=None):
        payload = body.encode() if isinstance(body, str) else (body or b"")
        request = self.head(method, path) + b"%d\r\n\r\n" % len(payload) + payload
        for attempt in (0, 1):
            try:
                if self.socket is None:
                    self.socket = socket.create_connection(("127.0.0.1", self.port))
                    self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.buffer = b""
                self.socket.sendall(request)
                status, data = self.response()
                break
            except (ConnectionError, EOFError):
                self.socket.close()
                self.socket = None
                if attempt:
                    raise
        if status >= 300:
            raise RuntimeError(f"{path}: {status} {data[:200]}")
        return data

    @functools.lru_cache(maxsize=64)
    def head(self, method, path):
        return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nApi-Key: {self.key}\r\n"
                f"Content-Type: application/json\r\nX-Pinecone-Api-Version: 2025-04\r\nContent-Length: ").encode()

    def response(self):
        end = self.buffer.find(b"\r\n\r\n")
        while end < 0:
            self.receive()
            end = self.buffer.find(b"\r\n\r\n")
        head = self.buffer[:end].lower()
        self.buffer = self.buffer[end + 4:]
        status = int(head[9:12])
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            return status, self.chunked()
        line_end = head.find(b"\r\n", at + 17)
        length = int(head[at + 17:line_end if line_end >= 0 else None])
        while len(self.buffer) < length:
            self.receive()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body

    def chunked(self):
        body = b""
        while True:
            while b"\r\n" not in self.buffer:
                self.receive()
            size_line, self.buffer = self.buffer.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(self.buffer) < size + 2:
                self.receive()
            body, self.buffer = body + self.buffer[:size], self.buffer[size + 2:]
            if size == 0:
                return body

    def receive(self):
        chunk = self.socket.recv(1 << 20)
        if not chunk:
            raise EOFError
        self.buffer += chunk


def transport_floor(body):
    """p50 ms of the `Raw` client against a minimal HTTP responder in another process (same body, an answer of
    400 bytes): what the client, the loopback and a wake-up cost before any server does any work."""
    import multiprocessing
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def respond():
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n" + b" " * 400
        pending = b""
        while data := connection.recv(1 << 20):
            pending += data
            while (end := pending.find(b"\r\n\r\n")) >= 0:
                head = pending[:end].lower()
                at = head.find(b"content-length:")
                length = int(head[at + 15:].split(b"\r\n")[0]) if at >= 0 else 0
                if len(pending) < end + 4 + length:
                    break
                pending = pending[end + 4 + length:]
                connection.sendall(answer)
    process = multiprocessing.get_context("fork").Process(target=respond)
    process.start()
    try:
        client = Raw(listener.getsockname()[1], "none")
        for _ in range(300):
            client.post("/", body)
        return latencies(timed(lambda: client.post("/", body), 3000))[0]
    finally:
        process.terminate()
        listener.close()


def latencies(samples):
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[len(ordered) * 99 // 100] * 1000


def timed(call, count):
    """Latencies of `count` calls, in seconds."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def run_served(name, base, queries, truth, binary, ef):
    """Upsert and query through `conifer serve` (the index's `conifer-ef-search` tag set to `ef`, so its
    queries do the engine's work at that ef); yields result rows."""
    from pinecone import Pinecone
    dimension = base.shape[1]
    key = "pcsk_bench_" + os.urandom(12).hex()
    with tempfile.TemporaryDirectory() as data_dir:
        process, port = start_server(binary, data_dir, key)
        try:
            raw = Raw(port, key)
            raw.post("/indexes", json.dumps({"name": "bench", "dimension": dimension, "metric": "cosine",
                                             "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}},
                                             "tags": {"conifer-ef-search": str(ef)}}))
            project = json.loads(http_get(port, key, "/indexes/bench"))["host"].split("/data/")[1]
            prefix = f"/data/{project}"
            half = len(base) // 2
            bodies = [json.dumps({"vectors": [{"id": f"v{i}", "values": base[i].tolist()} for i in range(start, min(start + 1000, half))]})
                      for start in range(0, half, 1000)]
            began = time.perf_counter()
            for body in bodies:
                raw.post(f"{prefix}/vectors/upsert", body)
            raw_rate = half / (time.perf_counter() - began)
            yield {"engine": "served", "event": "upsert", "client": "raw http", "vectors_per_second": raw_rate}
            pc = Pinecone(api_key=key, host=f"http://localhost:{port}")
            index = pc.Index(host=f"http://localhost:{port}{prefix}")
            batches = [[(f"v{i}", base[i].tolist()) for i in range(start, min(start + 1000, len(base)))] for start in range(half, len(base), 1000)]
            began = time.perf_counter()
            for batch in batches:
                index.upsert(vectors=batch)
            sdk_rate = (len(base) - half) / (time.perf_counter() - began)
            yield {"engine": "served", "event": "upsert", "client": "sdk", "vectors_per_second": sdk_rate}
            yield {"engine": "served", "event": "graph", "seconds_until_idle": wait_until_idle(process.pid)}

            # Where a served query's time goes, one keep-alive client: the HTTP floor (an unauthenticated
            # GET /health), an authenticated data-plane call that does almost nothing (fetch of an id that
            # does not exist: key, index lookup, rate limit, metering, an empty answer), then the query itself.
            health, _ = latencies(timed(lambda: raw.call("GET", "/health"), 2000))
            fetch, _ = latencies(timed(lambda: raw.call("GET", f"{prefix}/vectors/fetch?ids=absent"), 2000))
            yield {"engine": "served", "event": "floor", "ef": ef, "health_p50_ms": health, "fetch_p50_ms": fetch}

            query_bodies = [json.dumps({"topK": 10, "vector": q.tolist()}) for q in queries]
            found, samples = [], []
            for body in query_bodies:
                start = time.perf_counter()
                answer = json.loads(raw.post(f"{prefix}/query", body))
                samples.append(time.perf_counter() - start)
                found.append([int(m["id"][1:]) for m in answer["matches"]])
            p50, p99 = latencies(samples)
            yield {"engine": "served", "event": "query", "client": "raw http", "clients": 1, "ef": ef, "recall": recall(found, truth),
                   "qps": len(samples) / sum(samples), "p50_ms": p50, "p99_ms": p99}
            # Throughput: the queries eight times over, shared by one client process, then by four.
            for clients in (1, 4):
                yield concurrent_queries(port, key, prefix, query_bodies * 8, clients)
            samples = []
            for q in queries[:300]:
                start = time.perf_counter()
                index.query(vector=q.tolist(), top_k=10)
                samples.append(time.perf_counter() - start)
            p50, p99 = latencies(samples)
            yield {"engine": "served", "event": "query", "client": "sdk", "clients": 1, "qps": len(samples) / sum(samples), "p50_ms": p50, "p99_ms": p99}
            yield {"engine": "served", "event": "transport", "p50_ms": transport_floor(query_bodies[0].encode())}

            # The same queries through Hummingbird's router (`--fast-path off`), same data, after a restart.
            process.terminate()
            process.wait()
            process, port = start_server(binary, data_dir, key, "--fast-path", "off")
            raw = Raw(port, key)
            for body in query_bodies[:200]:
                raw.post(f"{prefix}/query", body)
            samples = [sample for body in query_bodies for sample in timed(lambda: raw.post(f"{prefix}/query", body), 1)]
            p50, p99 = latencies(samples)
            yield {"engine": "served", "event": "query", "client": "raw http", "path": "router", "clients": 1, "ef": ef,
                   "qps": len(samples) / sum(samples), "p50_ms": p50, "p99_ms": p99}
            for clients in (1, 4):
                yield concurrent_queries(port, key, prefix, query_bodies * 8, clients) | {"path": "router"}
        finally:
            process.terminate()
            process.wait()


def server_memory(pid):
    """The server's resident memory in bytes: all of it, and the file pages mapped in (int8 row files)."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                fields[name] = int(value.split()[0]) * 1024
    return fields


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(path) for name in names)


def run_million(name, base, queries, truth, binary, ef, encoding):
    """One million vectors through `conifer serve` with `encoding`: ingest (the SDK for the first 50,000,
    raw HTTP for the rest; metadata `bucket = i % 100`), time until the graph is built, memory and disk,
    queries (recall against the exact answers), filtered queries matching 5 % and 1 % (recall against the
    exact answers among the matches), then SIGKILL and the time from restart to the first answer. Yields rows."""
    import numpy as np
    from pinecone import Pinecone
    dimension = base.shape[1]
    key = "pcsk_bench_" + os.urandom(12).hex()
    row = {"engine": "served-1m", "encoding": encoding}
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "benchmarks", ".cache")) as data_dir:
        process, port = start_server(binary, data_dir, key)
        try:
            raw = Raw(port, key)
            raw.post("/indexes", json.dumps({"name": "million", "dimension": dimension, "metric": "cosine",
                                             "spec": {"serverless": {"cloud": "aws", "region": "us-east-1", "vector_encoding": encoding}},
                                             "tags": {"conifer-ef-search": str(ef)}}))
            project = json.loads(http_get(port, key, "/indexes/million"))["host"].split("/data/")[1]
            prefix = f"/data/{project}"
            sdk_count = 50_000
            pc = Pinecone(api_key=key, host=f"http://localhost:{port}")
            index = pc.Index(host=f"http://localhost:{port}{prefix}")
            began = time.perf_counter()
            for start in range(0, sdk_count, 1000):
                index.upsert(vectors=[{"id": f"v{i}", "values": base[i].tolist(), "metadata": {"bucket": i % 100}}
                                      for i in range(start, start + 1000)])
            yield {**row, "event": "upsert", "client": "sdk", "vectors_per_second": sdk_count / (time.perf_counter() - began)}
            posting = 0.0
            for start in range(sdk_count, len(base), 1000):
                body = json.dumps({"vectors": [{"id": f"v{i}", "values": base[i].tolist(), "metadata": {"bucket": i % 100}}
                                               for i in range(start, min(start + 1000, len(base)))]})
                sent = time.perf_counter()
                raw.post(f"{prefix}/vectors/upsert", body)
                posting += time.perf_counter() - sent
            yield {**row, "event": "upsert", "client": "raw http", "vectors_per_second": (len(base) - sdk_count) / posting}
            yield {**row, "event": "graph", "seconds_until_idle": wait_until_idle(process.pid, quiet_seconds=3.0)}
            yield {**row, "event": "memory", **server_memory(process.pid), "disk_bytes": directory_bytes(data_dir)}

            def answer(vector, query_filter=None):
                body = {"topK": 10, "vector": vector.tolist()}
                if query_filter:
                    body["filter"] = query_filter
                return [int(m["id"][1:]) for m in json.loads(raw.post(f"{prefix}/query", json.dumps(body)))["matches"]]
            samples, found = [], []
            for q in queries:
                start = time.perf_counter()
                found.append(answer(q))
                samples.append(time.perf_counter() - start)
            p50, p99 = latencies(samples)
            yield {**row, "event": "query", "recall": recall(found, truth), "qps": len(samples) / sum(samples), "p50_ms": p50, "p99_ms": p99}
            normalized = base / np.linalg.norm(base, axis=1, keepdims=True)
            for buckets in (5, 1):
                matching = np.flatnonzero(np.arange(len(base)) % 100 < buckets)
                subset = normalized[matching]
                some = queries[:100]
                exact = [matching[np.argsort(-(subset @ (q / np.linalg.norm(q))))[:10]] for q in some]
                samples, found = [], []
                for q in some:
                    start = time.perf_counter()
                    found.append(answer(q, {"bucket": {"$lt": buckets}}))
                    samples.append(time.perf_counter() - start)
                p50, p99 = latencies(samples)
                yield {**row, "event": "filtered", "selectivity": buckets / 100, "recall": recall(found, exact), "p50_ms": p50, "p99_ms": p99}
            del normalized
            process.kill()
            process.wait()
            began = time.perf_counter()
            process, port = start_server(binary, data_dir, key)
            raw = Raw(port, key)
            while True:
                try:
                    answer(queries[0])
                    break
                except (RuntimeError, ConnectionError, EOFError):
                    time.sleep(0.05)
            restarted = time.perf_counter() - began
            yield {**row, "event": "restart", "seconds_to_first_answer": restarted, **server_memory(process.pid)}
        finally:
            process.terminate()
            process.wait()


def print_million(rows):
    for r in rows:
        if r.get("engine") != "served-1m":
            continue
        label = f"1M {r['encoding']:7}"
        if r["event"] == "upsert":
            print(f"{label} upsert {r['client']:8} {r['vectors_per_second']:8.0f} vectors/s (batches of 1,000)")
        elif r["event"] == "graph":
            print(f"{label} graph built {r['seconds_until_idle']:.0f} s after the last upsert was acknowledged")
        elif r["event"] == "memory":
            print(f"{label} resident {r['VmRSS'] / 2**30:.2f} GiB (anonymous {r['RssAnon'] / 2**30:.2f}, file pages {r['RssFile'] / 2**30:.2f});"
                  f" disk {r['disk_bytes'] / 2**30:.2f} GiB")
        elif r["event"] == "query":
            print(f"{label} query p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms {r['qps']:.0f} QPS recall@10 {r['recall']:.3f}")
        elif r["event"] == "filtered":
            print(f"{label} filtered {r['selectivity'] * 100:.0f} % p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms recall@10 {r['recall']:.3f}")
        elif r["event"] == "restart":
            print(f"{label} SIGKILL, restart to first answer {r['seconds_to_first_answer']:.1f} s; resident then {r['VmRSS'] / 2**30:.2f} GiB")


def concurrent_queries(port, key, prefix, bodies, clients):
    """`clients` processes (not threads: one Python process's lock would be the limit), each with its own
    keep-alive connection, share the queries; QPS from the first start to the last finish."""
    import multiprocessing
    context = multiprocessing.get_context("fork")
    ready, go = context.Barrier(clients + 1), context.Event()

    def work(part):
        client = Raw(port, key)
        ready.wait()
        go.wait()
        for body in part:
            client.post(f"{prefix}/query", body)
    processes = [context.Process(target=work, args=(bodies[i::clients],)) for i in range(clients)]
    for process in processes:
        process.start()
    ready.wait()
    began = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    return {"engine": "served", "event": "query", "client": "raw http", "clients": clients, "qps": len(bodies) / (time.perf_counter() - began)}


def http_get(port, key, path):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", path, headers={"Api-Key": key, "X-Pinecone-Api-Version": "2025-04"})
    return connection.getresponse().read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=[*DATASETS, *LARGE])
    parser.add_argument("--ef", type=int, nargs="+", default=[10, 16, 24, 32, 48, 64, 96, 128, 192])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=3,
                        help="passes over the queries per ef, for every engine; the fastest is reported")
    parser.add_argument("--libraries", nargs="+", default=LIBRARIES, choices=LIBRARIES)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "conifer-bench"))
    parser.add_argument("--server", default=os.path.join(ROOT, ".build", "release", "conifer"))
    parser.add_argument("--skip-served", action="store_true", help="only the engines, not `conifer serve`")
    parser.add_argument("--skip-filtered", action="store_true", help="no filtered or sparse search")
    parser.add_argument("--served-ef", type=int, default=64, help="the served index's ef (compared with the engine's at the same ef)")
    parser.add_argument("--cache", default=os.path.join(ROOT, "benchmarks", ".cache"))
    parser.add_argument("--out", default="search-results.jsonl")
    parser.add_argument("--library-process", nargs=4, metavar=("LIBRARY", "BASE", "QUERIES", "DIMENSION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    ensure_environment()
    if args.library_process:
        library, base_path, query_path, dimension = args.library_process
        return run_library(library, base_path, query_path, int(dimension), args.ef, args.passes)

    for product in ["conifer-bench"] + ([] if args.skip_served else ["conifer"]):
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=ROOT, check=True)
    rows = []
    with open(args.out, "w") as out, tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            base, queries, truth = dataset(name, args.cache, args.queries)
            dimension = base.shape[1]
            if name == "1m-768":
                for encoding in ("int8", "float32"):
                    for row in run_million(name, base, queries, truth, args.server, args.served_ef, encoding):
                        row["dataset"] = name
                        rows.append(row)
                        out.write(json.dumps(row) + "\n")
                        out.flush()
                continue
            base_path, query_path = os.path.join(tmp, "base.f32"), os.path.join(tmp, "queries.f32")
            base.astype("<f4").tofile(base_path)
            queries.astype("<f4").tofile(query_path)
            runs = {"conifer": [args.binary, "--base", base_path, "--queries", query_path, "--dimension", str(dimension),
                                "--metric", "cosine", "--topk", "10", "--m", "16", "--ef-construction", "200",
                                "--ef", ",".join(map(str, args.ef)), "--passes", str(args.passes), "--results-dir", tmp]}
            runs["conifer-2t"] = runs["conifer"] + ["--threads", "2"]
            runs["conifer-int8"] = runs["conifer"] + ["--encoding", "int8", "--rows-dir", tmp]
            for library in args.libraries:
                runs[library] = [sys.executable, os.path.abspath(__file__), "--ef", *map(str, args.ef), "--passes", str(args.passes),
                                 "--library-process", library, base_path, query_path, str(dimension)]
            if not args.skip_filtered and name in DATASETS:
                runs["conifer-filtered"] = [args.binary, "--base", base_path, "--queries", query_path, "--dimension", str(dimension),
                                            "--metric", "cosine", "--topk", "10", "--filtered"]
            for engine, command in runs.items():
                output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                for line in output.splitlines():
                    row = json.loads(line)
                    row["dataset"] = name
                    if engine in ("conifer-2t", "conifer-int8"):
                        row["engine"] = engine
                    if row["event"] == "search":
                        if engine.startswith("conifer"):
                            with open(os.path.join(tmp, f"conifer-ef{row['ef']}.txt")) as f:
                                found = [[int(i) for i in line.split()] for line in f.read().splitlines()]
                        else:
                            found = row.pop("found")
                        row["recall"] = recall(found, truth)
                    rows.append(row)
                    out.write(json.dumps(row) + "\n")
                    out.flush()
            if not args.skip_served and name in DATASETS:
                for row in run_served(name, base, queries, truth, args.server, args.served_ef):
                    row["dataset"] = name
                    rows.append(row)
                    out.write(json.dumps(row) + "\n")
                    out.flush()
        if not args.skip_filtered:
            output = subprocess.run([args.binary, "--sparse", "100000"], capture_output=True, text=True, check=True).stdout
            for line in output.splitlines():
                row = json.loads(line)
                row["dataset"] = "sparse"
                rows.append(row)
                out.write(json.dumps(row) + "\n")
    print_table(rows)


def print_table(rows):
    builds = {(r["dataset"], r["engine"]): r for r in rows if r["event"] == "build"}
    print_million(rows)
    for dataset_name in dict.fromkeys(r["dataset"] for r in rows if r["dataset"] in DATASETS or r["dataset"] == "1m-128"):
        count, dimension = {**DATASETS, **LARGE}[dataset_name]
        raw = count * dimension * 4
        print(f"\n{dataset_name}: {count} x {dimension} cosine, M=16 efConstruction=200, one thread, {os.cpu_count()} cores")
        print(f"{'engine':12} {'build s':>8} {'memory MB':>10} {'B/vector':>9}")
        for engine in ["conifer", "conifer-2t", "conifer-int8", *LIBRARIES]:
            b = builds.get((dataset_name, engine))
            if b:
                # File pages mapped in (the int8 row file) are page cache the kernel can take back: shown apart.
                file_bytes = b.get("resident_file_bytes", 0)
                memory = b["resident_bytes"] - file_bytes
                cache = f", plus {file_bytes / 2**20:.0f} MB of row file mapped in" if file_bytes > 2**20 else ""
                print(f"{engine:12} {b['build_seconds']:8.1f} {memory / 2**20:10.0f} {memory / count:9.0f}"
                      f"   (raw vectors {raw / count:.0f} B/vector{cache})")
        int8, plain = builds.get((dataset_name, "conifer-int8")), builds.get((dataset_name, "conifer"))
        if int8 and plain:
            memory = lambda b: b["resident_bytes"] - b.get("resident_file_bytes", 0)
            print(f"int8 / float32 memory per vector (without mapped file pages): {memory(int8) / max(memory(plain), 1):.2f}x")
        print(f"{'engine':12} {'ef':>4} {'recall@10':>9} {'QPS':>9} {'p50 ms':>7} {'p99 ms':>7}")
        searches = [r for r in rows if r["event"] == "search" and r["dataset"] == dataset_name]
        served = [r for r in rows if r["engine"] == "served" and r["dataset"] == dataset_name]
        for r in searches:
            print(f"{r['engine']:12} {r['ef']:4d} {r['recall']:9.3f} {r['qps']:9.0f} {r['p50_ms']:7.3f} {r['p99_ms']:7.3f}")
        print("best QPS at recall@10 >= 0.95, and Conifer's ratio:")
        best = {}
        for r in searches:
            if r["recall"] >= 0.95 and r["qps"] > best.get(r["engine"], {"qps": 0})["qps"]:
                best[r["engine"]] = r
        conifer = best.get("conifer")
        for engine, r in best.items():
            ratio = f"   conifer/{engine} QPS {conifer['qps'] / r['qps']:.2f}x" if conifer and engine != "conifer" else ""
            build_ratio = ""
            if engine != "conifer" and (dataset_name, "conifer") in builds:
                c, o = builds[(dataset_name, "conifer")], builds[(dataset_name, engine)]
                build_ratio = f"  build {c['build_seconds'] / o['build_seconds']:.2f}x  memory {c['resident_bytes'] / max(o['resident_bytes'], 1):.2f}x"
            print(f"  {engine:12} ef={r['ef']:<4d} recall {r['recall']:.3f} {r['qps']:8.0f} QPS{ratio}{build_ratio}")
        if "conifer-int8" in best and conifer:
            quantized = best["conifer-int8"]
            hnsw_best = best.get("hnswlib")
            versus = f", {quantized['qps'] / hnsw_best['qps']:.2f}x hnswlib" if hnsw_best else ""
            print(f"int8 (rescored) / float32 QPS at recall@10 >= 0.95: {quantized['qps'] / conifer['qps']:.2f}x{versus}")
        two, hnsw = builds.get((dataset_name, "conifer-2t")), builds.get((dataset_name, "hnswlib"))
        if two and hnsw:
            print(f"graph build on 2 threads: {two['build_seconds']:.1f} s = {two['build_seconds'] / hnsw['build_seconds']:.2f}x hnswlib's on one thread")
        filtered = [r for r in rows if r["event"] == "filtered" and r["dataset"] == dataset_name]
        if filtered:
            print("filtered (metadata bucket < n; planner at the default ef, beside an exact scan of the matching rows):")
        for r in filtered:
            print(f"  {r['selectivity'] * 100:5.1f} % match ({r['matching']:6d})  recall@10 {r['recall']:.3f}  {r['qps']:8.0f} QPS"
                  f"  p50 {r['p50_ms']:.3f} ms   scan of the matches {r['scan_qps']:8.0f} QPS  ratio {r['qps'] / r['scan_qps']:.2f}x")
        if served:
            print("through `conifer serve` (loopback, fsync before every answer):")
        for r in served:
            if r["event"] == "upsert":
                print(f"  upsert {r['client']:8}  {r['vectors_per_second']:8.0f} vectors/s (batches of 1,000)")
            elif r["event"] == "graph":
                print(f"  graph built {r['seconds_until_idle']:.1f} s after the last upsert was acknowledged")
            elif r["event"] == "floor":
                print(f"  one client, p50: GET /health {r['health_p50_ms']:.3f} ms, fetch of a missing id {r['fetch_p50_ms']:.3f} ms")
            elif r["event"] == "transport":
                print(f"  the client and loopback alone (the same client, a minimal responder): p50 {r['p50_ms']:.3f} ms")
            else:
                detail = f"  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms" if "p50_ms" in r else ""
                served_recall = f"  recall@10 {r['recall']:.3f}" if "recall" in r else ""
                path = ", router" if r.get("path") == "router" else ""
                print(f"  query {r['client'] + path:16} {r['clients']} client(s) {r['qps']:8.0f} QPS{detail}{served_recall}")
        floor = next((r for r in served if r["event"] == "floor"), None)
        transport = next((r for r in served if r["event"] == "transport"), None)
        engine = next((r for r in searches if floor and r["engine"] == "conifer" and r["ef"] == floor["ef"]), None)
        queries = [r for r in served if r["event"] == "query" and "p50_ms" in r and r["client"] == "raw http" and r["clients"] == 1]
        if floor and engine and transport and queries:
            print(f"served query at ef {floor['ef']}, one client, p50 ms = the client and loopback + the server's own work + the engine:")
            for r in queries:
                server = r["p50_ms"] - transport["p50_ms"] - engine["p50_ms"]
                print(f"  {'through the router' if r.get('path') == 'router' else 'fast path':18} {r['p50_ms']:.3f} = {transport['p50_ms']:.3f}"
                      f" + {server:.3f} + {engine['p50_ms']:.3f}   (served minus engine {r['p50_ms'] - engine['p50_ms']:.3f})")
        for path in (None, "router"):
            throughput = {r["clients"]: r["qps"] for r in served if r["event"] == "query" and "p50_ms" not in r and r.get("path") == path}
            if throughput.get(1) and throughput.get(4):
                print(f"  four clients / one client{', through the router' if path else ''}: {throughput[4] / throughput[1]:.2f}x QPS")


    for r in rows:
        if r["event"] == "sparse":
            print(f"\nsparse: {r['records']} records, dot product, top-10: inverted index {r['qps']:.0f} QPS (p50 {r['p50_ms']:.2f} ms),"
                  f" scoring every record {r['scan_qps']:.0f} QPS (p50 {r['scan_p50_ms']:.2f} ms), ratio {r['qps'] / r['scan_qps']:.1f}x,"
                  f" identical answers: {r['identical']}")


if __name__ == "__main__":
    main()
