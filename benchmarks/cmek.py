"""What customer-managed keys cost, measured side by side in one run on one server: a project whose indexes are
under a KMS key (moto's server on loopback, reached through an assumed role) and a project under the local
master key, the same records and queries against each, interleaved in rounds.

    CONIFER_BIN=.build/release/conifer python benchmarks/cmek.py [--seconds 20] [--cache 2]

Prints queries per second for each index and their ratio, and how many calls reached AWS (KMS and STS, counted
from moto's request log) while the CMEK index served its queries: the target is one KMS call per data key per
cache window (`--dek-cache-seconds`), never one per request.
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

import boto3
from pinecone import Pinecone, ServerlessSpec

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from conftest import Server, new_api_key, raw_request  # noqa: E402
from test_audit_export import free_port  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--cache", type=int, default=2)
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()

    root = tempfile.mkdtemp(prefix="conifer-cmek-bench-")
    log = os.path.join(root, "moto.log")
    # moto's request log (one line per request) counts the calls that reach AWS.
    port = free_port()
    moto = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    aws = dict(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    iam = boto3.client("iam", endpoint_url=url, **aws)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="cmek", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    key_arn = boto3.client("kms", endpoint_url=url, **aws).create_key()["KeyMetadata"]["Arn"]
    os.environ.update({"AWS_ACCESS_KEY_ID": "AKIACONIFERBENCH", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_ENDPOINT_URL": url,
                       "AWS_REGION": "us-east-1"})
    server = Server(os.path.join(root, "data"), new_api_key(), "--dek-cache-seconds", str(args.cache)).start()
    try:
        _, token = raw_request(server, "POST", "/oauth/token", {"grant_type": "client_credentials", "client_id": server.client_id,
                                                                 "client_secret": server.client_secret})
        bearer = token["access_token"]
        indexes = {}
        rng = random.Random(7)
        vectors = [(f"r{i}", [rng.random() for _ in range(64)], {"n": i}) for i in range(args.records)]
        for name, with_key in [("cmek", True), ("local", False)]:
            _, project = raw_request(server, "POST", "/admin/projects", {"name": name}, bearer=bearer)
            _, created = raw_request(server, "POST", f"/admin/projects/{project['id']}/api-keys", {"name": "bench"}, bearer=bearer)
            if with_key:
                status, reply = raw_request(server, "POST", f"/admin/projects/{project['id']}/cmek-keys",
                                            {"name": "bench", "role_arn": role, "key_arn": key_arn}, bearer=bearer)
                assert status == 201, reply
            pc = Pinecone(api_key=created["value"], host=server.url)
            pc.create_index(name="bench", dimension=64, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
            index = pc.Index(host=pc.describe_index("bench").host)
            for start in range(0, len(vectors), 500):
                index.upsert(vectors=vectors[start:start + 500])
            indexes[name] = index

        queries = [[rng.random() for _ in range(64)] for _ in range(200)]
        counts = {name: 0 for name in indexes}
        spent = {name: 0.0 for name in indexes}
        aws_before = sum(1 for line in open(log) if '"POST / HTTP' in line)
        deadline = time.time() + args.seconds
        while time.time() < deadline:
            for name, index in indexes.items():  # interleaved rounds: both see the same machine
                start = time.perf_counter()
                for vector in queries[:50]:
                    index.query(vector=vector, top_k=10)
                spent[name] += time.perf_counter() - start
                counts[name] += 50
        aws_calls = sum(1 for line in open(log) if '"POST / HTTP' in line) - aws_before
        qps = {name: counts[name] / spent[name] for name in indexes}
        print(f"queries: {counts['cmek']} per index over {args.seconds:.0f} s, cache window {args.cache} s")
        for name in indexes:
            print(f"  {name:5}: {qps[name]:8.1f} queries/s")
        print(f"  cmek/local: {qps['cmek'] / qps['local']:.3f}")
        print(f"AWS calls (KMS Decrypt + STS) while querying: {aws_calls}; windows elapsed: {args.seconds / args.cache:.1f}; "
              f"per query: {aws_calls / counts['cmek']:.5f}")
    finally:
        server.stop()
        moto.terminate()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
