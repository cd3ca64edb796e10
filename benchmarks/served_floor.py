"""What an HTTP round trip costs on this machine before any server does any work: the floor under issue 27's
served-path target (a served query at most 0.15 ms over the engine).

    python3 benchmarks/served_floor.py [--requests 3000] [--runs 3]

The same raw keep-alive client as search.py (`Raw`) sends the same POST of a 128-float query body to
- a minimal HTTP responder in another Python process (search.py's `transport_floor`), and
- nginx (Debian's, when installed: `apt-get install nginx-light`) answering every request with `return 200` and a
  400-byte body, with no work at all,
and prints the p50 of each per run. Whatever a server does for a query comes on top of these figures.
"""
import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from search import Raw, latencies, timed, transport_floor  # noqa: E402


def start_nginx(directory):
    """nginx on a free loopback port with one worker, answering 200 with 400 bytes; (process, port) or None."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = os.path.join(directory, "nginx.conf")
    with open(config, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {directory}/nginx.pid; error_log {directory}/error.log;
events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {directory}/body; client_body_buffer_size 64k;
  server {{ listen 127.0.0.1:{port}; keepalive_requests 1000000;
    location / {{ default_type application/json; return 200 '{" " * 400}'; }} }} }}
""")
    process = subprocess.Popen([binary, "-c", config, "-p", directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("nginx did not start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    body = json.dumps({"topK": 10, "vector": [random.gauss(0, 1) for _ in range(128)]}).encode()
    directory = tempfile.mkdtemp(prefix="conifer-floor-")
    nginx = start_nginx(directory)
    try:
        client = Raw(nginx[1], "none") if nginx else None
        if client:
            for _ in range(300):
                client.post("/data/project/index/query", body)
        for run in range(1, args.runs + 1):
            responder = transport_floor(body)
            line = f"run {run}: minimal Python responder p50 {responder:.3f} ms"
            if client:
                line += f", nginx return 200 p50 {latencies(timed(lambda: client.post('/data/project/index/query', body), args.requests))[0]:.3f} ms"
            else:
                line += " (nginx not installed)"
            print(line, flush=True)
    finally:
        if nginx:
            nginx[0].terminate()
            nginx[0].wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
