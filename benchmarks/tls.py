"""What TLS costs over loopback, measured side by side in one run: two `conifer serve` processes on the same
machine, one plain HTTP and one HTTPS (a throwaway test CA, ECDSA P-256), answering the same requests.

    CONIFER_BIN=.build/release/conifer python benchmarks/tls.py [--requests 2000]

Prints, for each server: a new connection with one request (the TLS handshake included) and a request on a
kept-alive connection (an authenticated `GET /indexes`), as medians and p99 in milliseconds, and the ratios.
"""
import argparse
import http.client
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from conftest import Server, new_api_key  # noqa: E402


def make_certificate(directory):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=bench CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(directory, "ext"), "w") as ext:
        ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "ext")
    return [os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key")]


def connection(server, context):
    port = int(server.url.rsplit(":", 1)[1])
    if context is None:
        return http.client.HTTPConnection("localhost", port, timeout=30)
    return http.client.HTTPSConnection("localhost", port, timeout=30, context=context)


def request(conn, key):
    conn.request("GET", "/indexes", headers={"Api-Key": key})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status


def measure(server, context, count):
    fresh, kept = [], []
    for _ in range(count // 4):
        start = time.perf_counter()
        conn = connection(server, context)
        request(conn, server.api_key)
        fresh.append(time.perf_counter() - start)
        conn.close()
    conn = connection(server, context)
    request(conn, server.api_key)
    for _ in range(count):
        start = time.perf_counter()
        request(conn, server.api_key)
        kept.append(time.perf_counter() - start)
    conn.close()
    return fresh, kept


def summary(samples):
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 3), "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="conifer-tls-bench-")
    try:
        ca, cert, key = make_certificate(root)
        plain = Server(os.path.join(root, "plain"), new_api_key()).start()
        secure = Server(os.path.join(root, "tls"), new_api_key(), "--tls-cert", cert, "--tls-key", key).start()
        try:
            context = ssl.create_default_context(cafile=ca)
            results = {}
            # Alternate, so that drift on a shared machine hits both alike.
            for _ in range(2):
                for name, server, ctx in (("http", plain, None), ("https", secure, context)):
                    fresh, kept = measure(server, ctx, args.requests // 2)
                    results.setdefault(name, ([], []))
                    results[name][0].extend(fresh)
                    results[name][1].extend(kept)
            report = {}
            for name, (fresh, kept) in results.items():
                report[name] = {"new_connection": summary(fresh), "kept_alive": summary(kept)}
                print(name, report[name])
            print("ratios https/http (medians):",
                  {"new_connection": round(report["https"]["new_connection"]["median_ms"] / report["http"]["new_connection"]["median_ms"], 2),
                   "kept_alive": round(report["https"]["kept_alive"]["median_ms"] / report["http"]["kept_alive"]["median_ms"], 2)})
            print("TLS handshake cost (median new-connection difference): "
                  f"{report['https']['new_connection']['median_ms'] - report['http']['new_connection']['median_ms']:.3f} ms")
        finally:
            plain.stop()
            secure.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
