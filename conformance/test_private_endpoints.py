"""Private endpoints seen from outside: a second listener (`--private-listen`) serving only the data plane, the
Admin API's per-project endpoints (address blocks or AWS VPC endpoint ids), `private_host` in index models, the
private-only switch, and the PROXY protocol (v1, v2 with AWS's VPC endpoint TLV) an AWS NLB endpoint service
puts in front of every connection. The network-namespace test makes requests arrive from two real source
addresses."""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from urllib.parse import urlparse

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import Server, admin, expect_status, new_api_key, raw_request

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")


def project_of(pc, name):
    return urlparse(pc.describe_index(name).host).path.split("/")[2]


def http(url, method="GET", body=None, api_key=None):
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method)
    if api_key:
        request.add_header("Api-Key", api_key)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def private_server():
    root = tempfile.mkdtemp(prefix="conifer-private-")
    server = Server(os.path.join(root, "data"), new_api_key(), "--private-listen", "127.0.0.1:0").start()
    server.private = server.private_url()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_private_listener_serves_only_allowed_networks(private_server):
    server = private_server
    pc = Pinecone(api_key=server.api_key, host=server.url)
    pc.create_index(name="guarded", dimension=4, metric="cosine", spec=SERVERLESS)
    project = project_of(pc, "guarded")
    assert pc.describe_index("guarded").private_host is None  # no endpoint yet
    path = urlparse(pc.describe_index("guarded").host).path
    query = {"vector": [1.0, 0.0, 0.0, 0.0], "topK": 1}

    # The private listener has no control plane, Admin API or OAuth, and no network is allowed yet.
    assert http(server.private + "/indexes", api_key=server.api_key)[0] == 404
    assert http(server.private + f"/admin/projects/{project}/private-endpoints")[0] == 404
    assert http(server.private + "/oauth/token", "POST", {"grant_type": "client_credentials"})[0] == 404
    status, reply = http(server.private + path + "/query", "POST", query, api_key=server.api_key)
    assert status == 403 and "not allowed" in reply["message"] and reply["code"] == 7, reply
    assert http(server.private + path + "/query", "POST", query)[0] == 401  # authentication first

    status, endpoint = admin(server, "POST", f"/admin/projects/{project}/private-endpoints",
                             {"name": "loopback", "region": "us-east-1", "allowed_cidrs": ["127.0.0.0/8"]})
    assert status == 201 and endpoint["allowed_cidrs"] == ["127.0.0.0/8"], endpoint
    private_host = pc.describe_index("guarded").private_host
    assert private_host == server.private.replace("127.0.0.1", "localhost") + path, private_host
    status, legacy = raw_request(server, "GET", "/indexes/guarded", version="2025-04")
    assert legacy["private_host"] == private_host
    pc.create_index(name="elsewhere", dimension=4, metric="cosine", spec=ServerlessSpec(cloud="aws", region="eu-west-1"))
    assert pc.describe_index("elsewhere").private_host is None  # no endpoint in its region

    # The SDK works through the private listener.
    private = pc.Index(host=private_host)
    private.upsert(vectors=[("p1", [1.0, 0.0, 0.0, 0.0]), ("p2", [0.0, 1.0, 0.0, 0.0])])
    assert private.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=1).matches[0].id == "p1"
    public = pc.Index(host=pc.describe_index("guarded").host)
    assert public.fetch(ids=["p1"]).vectors["p1"].id == "p1"  # the public listener too, until private-only

    status, _ = admin(server, "PATCH", f"/admin/projects/{project}", {"private_endpoint_access_only": True})
    assert status == 200
    error = expect_status(403, public.query, vector=[1.0, 0.0, 0.0, 0.0], top_k=1)
    assert "private_host" in str(error)
    assert [i.name for i in pc.list_indexes()] and pc.describe_index("guarded").name == "guarded"  # control plane stays public
    assert private.query(vector=[0.0, 1.0, 0.0, 0.0], top_k=1).matches[0].id == "p2"
    admin(server, "PATCH", f"/admin/projects/{project}", {"private_endpoint_access_only": False})
    assert public.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=1).matches[0].id == "p1"

    # Without a matching endpoint, the private listener refuses again.
    assert admin(server, "DELETE", f"/admin/projects/{project}/private-endpoints/{endpoint['id']}")[0] == 202
    admin(server, "POST", f"/admin/projects/{project}/private-endpoints",
          {"name": "elsewhere", "region": "us-east-1", "allowed_cidrs": ["10.0.0.0/8"]})
    expect_status(403, private.query, vector=[1.0, 0.0, 0.0, 0.0], top_k=1)


# --- PROXY protocol ---------------------------------------------------------------------------------------------

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(source, vpce=None, command=0x21):
    addresses = socket.inet_aton(source) + socket.inet_aton("10.0.0.1") + struct.pack("!HH", 40000, 443)
    tlvs = b""
    if vpce is not None:
        value = b"\x01" + vpce.encode()
        tlvs = struct.pack("!BH", 0xEA, len(value)) + value
    body = addresses + tlvs
    return V2_SIGNATURE + bytes([command, 0x11]) + struct.pack("!H", len(body)) + body


def proxy_v1(source):
    return f"PROXY TCP4 {source} 10.0.0.1 40000 443\r\n".encode()


def send(url, prefix, path, api_key, body):
    """Sends `prefix` and then an HTTP request on one connection; the status, or None when the server closed
    the connection without answering."""
    target = urlparse(url)
    payload = json.dumps(body).encode()
    request = (f"POST {path} HTTP/1.1\r\nHost: {target.netloc}\r\nApi-Key: {api_key}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode() + payload
    with socket.create_connection((target.hostname, target.port), timeout=20) as connection:
        try:
            connection.sendall(prefix + request)
        except (BrokenPipeError, ConnectionResetError):
            return None
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else None


def test_proxy_protocol_carries_the_source_and_the_vpc_endpoint(private_server):
    root = tempfile.mkdtemp(prefix="conifer-proxy-")
    server = Server(os.path.join(root, "data"), new_api_key(), "--private-listen", "127.0.0.1:0", "--private-proxy-protocol",
                    "--private-proxy-from", "127.0.0.0/8").start()
    try:
        private = server.private_url()
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="linked", dimension=2, metric="cosine", spec=SERVERLESS)
        pc.Index(host=pc.describe_index("linked").host).upsert(vectors=[("a", [1.0, 0.0])])
        project = project_of(pc, "linked")
        path = urlparse(pc.describe_index("linked").host).path + "/query"
        for body in ({"name": "link", "region": "us-east-1", "vpc_endpoint_id": "vpce-0123456789abcdef0"},
                     {"name": "office", "region": "us-east-1", "allowed_cidrs": ["192.0.2.0/24"]}):
            assert admin(server, "POST", f"/admin/projects/{project}/private-endpoints", body)[0] == 201
        query = {"vector": [1.0, 0.0], "topK": 1}

        def status(prefix):
            return send(private, prefix, path, server.api_key, query)

        assert status(proxy_v2("198.51.100.7", vpce="vpce-0123456789abcdef0")) == 200  # PrivateLink: the endpoint id
        assert status(proxy_v2("198.51.100.7", vpce="vpce-0fedcba9876543210")) == 403  # another VPC endpoint
        assert status(proxy_v2("192.0.2.44")) == 200  # no TLV: the source address, in a registered block
        assert status(proxy_v2("198.51.100.7")) == 403
        assert status(proxy_v1("192.0.2.9")) == 200
        assert status(proxy_v1("203.0.113.5")) == 403
        assert status(proxy_v2("198.51.100.7", vpce="vpce-0123456789abcdef0", command=0x20)) == 403  # LOCAL: no client
        assert status(b"") is None  # no header: closed
        assert status(b"PROXY TCP4 not-an-address 10.0.0.1 1 2\r\n") is None
        assert status(V2_SIGNATURE + b"\x21\x11\x00\x04abcd") is None  # too short for its addresses
        assert status(V2_SIGNATURE + b"\x21\x11\x00\x10" + b"\x00" * 12 + b"\xea\x00\x09") is None  # TLV past the end

        # Headers are believed only from the load balancers' addresses: from anywhere else the connection is closed.
        server.stop()
        server.extra_args = [arg if arg != "127.0.0.0/8" else "10.99.0.0/16" for arg in server.extra_args]
        server.output = []
        server.start()
        assert send(server.private_url(), proxy_v2("198.51.100.7", vpce="vpce-0123456789abcdef0"), path, server.api_key, query) is None
        # Without --private-proxy-from the server refuses to start.
        lone = Server(os.path.join(root, "lone"), new_api_key(), "--private-listen", "127.0.0.1:0", "--private-proxy-protocol")
        with pytest.raises(RuntimeError):
            lone.start()

        # The listener without the flag never reads a header: the bytes are an HTTP request line it rejects.
        plain = private_server
        assert send(plain.private, proxy_v1("192.0.2.9"), path, plain.api_key, query) == 400
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# --- Real source addresses: network namespaces --------------------------------------------------------------------

CLIENT = """
import json, sys, urllib.error, urllib.request
url, key = sys.argv[1], sys.argv[2]
request = urllib.request.Request(url, data=json.dumps({"vector": [1.0, 0.0], "topK": 1}).encode(), method="POST",
                                 headers={"Api-Key": key, "Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(request, timeout=20).status)
except urllib.error.HTTPError as error:
    print(error.code)
"""


def ip(*args, netns=None):
    command = (["ip", "netns", "exec", netns] if netns else []) + ["ip", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


@pytest.fixture
def two_networks():
    """Two network namespaces, each linked to this one by a veth pair: 10.231.1.2 and 10.231.2.2 reach this host at
    10.231.1.1 and 10.231.2.1. Skipped where namespaces cannot be made (not root, no iproute2, a container without
    CAP_NET_ADMIN)."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2's ip is not installed, so no network namespaces; the PROXY protocol test covers the decision")
    tag = str(os.getpid() % 100000)
    names = [f"cnf{tag}a", f"cnf{tag}b"]
    made = []
    try:
        for i, name in enumerate(names, start=1):
            probe = ip("netns", "add", name)
            if probe.returncode != 0:
                pytest.skip(f"network namespaces are not permitted here ({probe.stderr.strip()}); the PROXY protocol test covers the decision")
            made.append(name)
            host, peer = f"v{tag}{i}h", f"v{tag}{i}p"
            for step in [("link", "add", host, "type", "veth", "peer", "name", peer), ("link", "set", peer, "netns", name),
                         ("addr", "add", f"10.231.{i}.1/24", "dev", host), ("link", "set", host, "up")]:
                assert ip(*step).returncode == 0, step
            for step in [("addr", "add", f"10.231.{i}.2/24", "dev", peer), ("link", "set", peer, "up"), ("link", "set", "lo", "up")]:
                assert ip(*step, netns=name).returncode == 0, step
        yield names
    finally:
        for name in made:
            ip("netns", "del", name)


def test_requests_from_two_real_networks(two_networks):
    inside, outside = two_networks
    root = tempfile.mkdtemp(prefix="conifer-netns-")
    server = Server(os.path.join(root, "data"), new_api_key(), "--host", "0.0.0.0", "--insecure-public", "--private-listen", "0.0.0.0:0").start()
    try:
        public_port, private_port = urlparse(server.url).port, urlparse(server.private_url()).port
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="netns", dimension=2, metric="cosine", spec=SERVERLESS)
        pc.Index(host=pc.describe_index("netns").host).upsert(vectors=[("a", [1.0, 0.0])])
        project = project_of(pc, "netns")
        path = urlparse(pc.describe_index("netns").host).path + "/query"
        assert admin(server, "POST", f"/admin/projects/{project}/private-endpoints",
                     {"name": "inside", "region": "us-east-1", "allowed_cidrs": ["10.231.1.0/24"]})[0] == 201

        def status(network, port):
            host = "10.231.1.1" if network == inside else "10.231.2.1"
            result = subprocess.run(["ip", "netns", "exec", network, sys.executable, "-c", CLIENT, f"http://{host}:{port}{path}", server.api_key],
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            return int(result.stdout)

        def statuses():
            return {(net, listener): status(net, port) for net in (inside, outside)
                    for listener, port in (("private", private_port), ("public", public_port))}

        open_public = {(inside, "private"): 200, (outside, "private"): 403, (inside, "public"): 200, (outside, "public"): 200}
        assert statuses() == open_public
        assert admin(server, "PATCH", f"/admin/projects/{project}", {"private_endpoint_access_only": True})[0] == 200
        assert statuses() == {(inside, "private"): 200, (outside, "private"): 403, (inside, "public"): 403, (outside, "public"): 403}
        assert admin(server, "PATCH", f"/admin/projects/{project}", {"private_endpoint_access_only": False})[0] == 200
        assert statuses() == open_public
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
