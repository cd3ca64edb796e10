"""Fixtures for the conformance suite: a freshly started `conifer serve` and the official SDK pointed at it.

The suite runs unchanged under pinecone==10.2.0 (API 2026-07) and pinecone==7.3.0 (API 2025-04); tests that
need one SDK generation check `SDK_MAJOR`.
"""
import base64
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pinecone
import pytest
from pinecone import Pinecone

REPO = pathlib.Path(__file__).resolve().parent.parent
SDK_MAJOR = int(pinecone.__version__.split(".")[0])
# CONIFER_CONFORMANCE_CATALOG=postgres: every server keeps its catalog in a PostgreSQL database of its own on
# CONIFER_TEST_POSTGRES_URL (scripts/test runs the control-plane, Admin API and backup files so, besides SQLite).
ON_POSTGRES = os.environ.get("CONIFER_CONFORMANCE_CATALOG") == "postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_catalog() -> dict:
    """The environment of a server on a new database of the tests' PostgreSQL, with a master key of its own."""
    base = os.environ["CONIFER_TEST_POSTGRES_URL"]
    database = "conifer_conformance_" + secrets.token_hex(6)
    subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    return {"CONIFER_CATALOG_URL": base.rsplit("/", 1)[0] + "/" + database, "CONIFER_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}


def conifer_binary() -> str:
    binary = os.environ.get("CONIFER_BIN", str(REPO / ".build" / "debug" / "conifer"))
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"conifer binary not found at {binary}; run `swift build` or set CONIFER_BIN")
    return binary


class Server:
    """A `conifer serve` process on a random loopback port with its own data directory."""

    client_id = "conformance-owner"

    # Pinecone's per-second rate limits are Conifer's defaults; tests that do not test them (and the benchmarks)
    # lift them, so a fast loop of requests is not throttled.
    UNLIMITED = "upsert=0,query=0,fetch=0,update=0,delete=0,list=0,control=0"

    def __init__(self, data_dir: str, api_key, *extra_args: str, prefix=(), rate_limits=UNLIMITED, env=None, port=0):
        """`api_key` fixes the bootstrap key; None lets the server generate one (read back from its output).
        `prefix` runs the server under another command (strace). `rate_limits` is `--rate-limits`. `env` adds
        environment variables. `port` 0 picks a free one."""
        self.data_dir = data_dir
        self.port = port
        self.extra_env = dict(env or {})
        if ON_POSTGRES and "CONIFER_CATALOG_URL" not in self.extra_env:
            # A server on a shared catalog names its indexes' home by its port, so the port is fixed.
            self.extra_env = postgres_catalog() | self.extra_env
            self.port = port or free_port()
        self.api_key = api_key
        self.prefix = list(prefix)
        self.client_secret = "cs_" + secrets.token_urlsafe(32)
        self.extra_args = list(extra_args) + ["--rate-limits", rate_limits]
        # CONIFER_FAST_PATH=off sends every query through the router (scripts/test runs the query tests both ways).
        if os.environ.get("CONIFER_FAST_PATH"):
            self.extra_args += ["--fast-path", os.environ["CONIFER_FAST_PATH"]]
        self.process = None
        self.url = None
        self.output = []
        self.log_path = os.path.join(data_dir + "-logs", "server.log")
        # The client side of TLS (an `ssl.SSLContext` trusting the test CA) when the server serves HTTPS.
        self.ssl_context = None
        # An owner access token for this start, fetched by the tests that need one (`test_audit_export.token`).
        self.owner_token = None

    def start(self) -> "Server":
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.owner_token = None
        env = dict(os.environ) | self.extra_env
        env.pop("CONIFER_BOOTSTRAP_API_KEY", None)
        if self.api_key is not None:
            env["CONIFER_BOOTSTRAP_API_KEY"] = self.api_key
            env["CONIFER_BOOTSTRAP_CLIENT_ID"] = self.client_id
            env["CONIFER_BOOTSTRAP_CLIENT_SECRET"] = self.client_secret
        self.process = subprocess.Popen(
            [*self.prefix, conifer_binary(), "serve", "--data-dir", self.data_dir, "--port", str(self.port), "--log-level", "warning", *self.extra_args],
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "ab"),
            env=env,
            text=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = re.match(r"Conifer listening on (https?)://(\S+)", line)
            if match:
                port = match.group(2).rsplit(":", 1)[1]
                self.url = f"{match.group(1)}://localhost:{port}"
                return self
        self.stop()
        raise RuntimeError(f"conifer serve did not start; see {self.log_path}")

    def private_url(self, timeout=30) -> str:
        """The private listener's URL (`--private-listen`), from the server's output."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.output:
                match = re.match(r"Conifer private listener on (https?)://(\S+)", line)
                if match:
                    return f"{match.group(1)}://{match.group(2)}"
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
        raise RuntimeError(f"no private listener in the output of conifer serve; see {self.log_path}")

    def stop(self):
        """Sends SIGTERM and returns the exit status (None if the server had to be killed)."""
        status = None
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                status = self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        elif self.process:
            status = self.process.returncode
        self.process = None
        return status


def new_api_key() -> str:
    return "pcsk_conform_" + secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def server():
    root = tempfile.mkdtemp(prefix="conifer-conformance-")
    srv = Server(os.path.join(root, "data"), new_api_key()).start()
    yield srv
    srv.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pc(server):
    return Pinecone(api_key=server.api_key, host=server.url)


@pytest.fixture
def index_name(pc, request):
    """A unique index name for one test; whatever the test left behind is removed afterwards."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:30] + "-" + secrets.token_hex(3)
    yield name
    cleanup(pc, name)


def cleanup(pc, name: str) -> None:
    try:
        pc.configure_index(name, deletion_protection="disabled")
        pc.delete_index(name)
    except Exception:
        pass


def status_of(error: Exception):
    """The HTTP status an SDK exception carries (10.x `status_code`, 7.x `status`)."""
    return getattr(error, "status_code", None) or getattr(error, "status", None)


def expect_status(status: int, call, *args, **kwargs) -> Exception:
    """Runs `call` and asserts that the server answered with `status`."""
    with pytest.raises(Exception) as raised:
        call(*args, **kwargs)
    assert status_of(raised.value) == status, f"expected HTTP {status}, got {raised.value!r}"
    return raised.value


def typed(value):
    """A JSON value with each scalar tagged by its JSON type, so that comparisons cannot mix them
    (Python has True == 1 and 2019 == 2019.0; JSON has a boolean and a number)."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null", None)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: typed(item) for key, item in dict(value).items()}
    return [typed(item) for item in value]


def same_json(actual, expected) -> bool:
    return typed(actual) == typed(expected)


def tags_of(model) -> dict:
    """Tags as a plain dict (7.x wraps them in a generated model)."""
    tags = model.tags
    return dict(tags.to_dict() if hasattr(tags, "to_dict") else tags or {})


def raw_request(server, method: str, path: str, body=None, api_key=None, version=None, bearer=None):
    """Sends one HTTP request without an SDK (for inputs the SDKs refuse client-side). Returns (status, json)."""
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(server.url + path, data=data, method=method)
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    else:
        request.add_header("Api-Key", api_key or server.api_key)
    request.add_header("Content-Type", "application/json")
    if version:
        request.add_header("X-Pinecone-Api-Version", version)
    try:
        with urllib.request.urlopen(request, timeout=60, context=server.ssl_context) as response:
            payload = response.read()
            return response.status, (json.loads(payload) if payload else None)
    except urllib.error.HTTPError as error:
        payload = error.read()
        return error.code, (json.loads(payload) if payload else None)


def token(server):
    """One owner token per server start (each sign-in is itself an audit event). Kept on the server, not by URL: a
    later server on a fresh data directory can be given the same port, and its signing key differs."""
    if server.owner_token is None:
        _, reply = raw_request(server, "POST", "/oauth/token", {
            "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret})
        server.owner_token = reply["access_token"]
    return server.owner_token


def admin(server, method, path, body=None):
    return raw_request(server, method, path, body, bearer=token(server))


def data_path(host: str) -> str:
    """The path prefix of an index host (`http://localhost:PORT/data/<project>/<name>` → `/data/<project>/<name>`)."""
    from urllib.parse import urlparse

    return urlparse(host).path


def list_all_ids(index, namespace: str, prefix=None, limit=None) -> list:
    """Every id of a namespace, following pagination tokens to the end."""
    ids, token = [], None
    while True:
        page = index.list_paginated(prefix=prefix, limit=limit, pagination_token=token, namespace=namespace)
        ids.extend(item.id for item in page.vectors)
        token = page.pagination.next if page.pagination else None
        if not token:
            return ids
