"""Two `conifer serve` processes on one PostgreSQL catalog (`--catalog`), each with its own data directory: what
one server changes in the catalog holds on the other at its next request — keys, roles, tokens, plans and
quotas (creates racing on both servers), the audit log (one chain, verified by `conifer audit verify --catalog`)
— and an index is served by the server holding its files, whose host both describe.

Needs the PostgreSQL server scripts/test starts (CONIFER_TEST_POSTGRES_URL); without it these tests are skipped,
unless CONIFER_REQUIRE_POSTGRES=1, which makes that a failure."""
import base64
import concurrent.futures
import os
import secrets
import shutil
import socket
import subprocess
import tempfile

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import Server, admin, conifer_binary, data_path, expect_status, new_api_key, raw_request, token

POSTGRES = os.environ.get("CONIFER_TEST_POSTGRES_URL")
if not POSTGRES and os.environ.get("CONIFER_REQUIRE_POSTGRES") != "1":
    pytest.skip("needs CONIFER_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)", allow_module_level=True)

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Pair:
    """Servers A (which bootstraps the catalog) and B, on a database of their own, with one master key."""

    def __init__(self):
        assert POSTGRES, "CONIFER_REQUIRE_POSTGRES=1 but CONIFER_TEST_POSTGRES_URL is not set"
        self.root = tempfile.mkdtemp(prefix="conifer-shared-catalog-")
        database = "conifer_pair_" + secrets.token_hex(6)
        subprocess.run(["psql", POSTGRES, "-qc", f"CREATE DATABASE {database}"], check=True, capture_output=True)
        self.catalog = POSTGRES.rsplit("/", 1)[0] + "/" + database
        self.env = {"CONIFER_CATALOG_URL": self.catalog, "CONIFER_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
        self.a = self.start(new_api_key())
        self.b = self.start(None)
        # The bootstrap key and the owner service account are the catalog's, not a server's.
        self.b.api_key, self.b.client_secret = self.a.api_key, self.a.client_secret

    def start(self, api_key) -> Server:
        port = free_port()
        name = "a" if api_key else "b"
        return Server(os.path.join(self.root, name), api_key, env=self.env, port=port).start()

    def operator(self, *arguments):
        """An operator command on the shared catalog (no data directory of its own)."""
        return subprocess.run(
            [conifer_binary(), *arguments, "--data-dir", os.path.join(self.root, "operator")],
            capture_output=True, text=True, timeout=120, env=dict(os.environ) | self.env,
        )

    def stop(self):
        self.a.stop()
        self.b.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def pair():
    servers = Pair()
    yield servers
    servers.stop()


def test_what_one_server_changes_holds_on_the_other_at_its_next_request(pair):
    a, b = pair.a, pair.b
    project = admin(a, "POST", "/admin/projects", {"name": "shared"})[1]
    status, created = admin(a, "POST", f"/admin/projects/{project['id']}/api-keys", {"name": "editor", "roles": ["ProjectEditor"]})
    assert status in (200, 201), created
    key, key_id = created["value"], created["key"]["id"]
    on_b = Pinecone(api_key=key, host=b.url)
    assert on_b.list_indexes().names() == []

    # A role taken away on A is refused on B at the next request; the key deleted on A stops working on B.
    assert admin(a, "PATCH", f"/admin/api-keys/{key_id}", {"roles": ["ProjectViewer"]})[0] == 200
    expect_status(403, on_b.create_index, name="denied", dimension=2, metric="cosine", spec=SERVERLESS)
    assert admin(a, "DELETE", f"/admin/api-keys/{key_id}")[0] in (200, 202, 204)
    expect_status(401, on_b.list_indexes)

    # An owner token issued by A is valid on B (the signing key is the catalog's), and B's owner sees A's project.
    _, token = raw_request(a, "POST", "/oauth/token", {"grant_type": "client_credentials", "client_id": a.client_id, "client_secret": a.client_secret})
    status, projects = raw_request(b, "GET", "/admin/projects", bearer=token["access_token"])
    assert status == 200 and "shared" in [p["name"] for p in projects["data"]]


def test_an_index_is_served_by_the_server_that_holds_its_files(pair):
    a, b = pair.a, pair.b
    on_a = Pinecone(api_key=a.api_key, host=a.url)
    on_b = Pinecone(api_key=a.api_key, host=b.url)
    on_b.create_index(name="made-on-b", dimension=2, metric="cosine", spec=SERVERLESS)
    host = on_a.describe_index("made-on-b").host
    assert host.startswith(b.url), (host, b.url)
    on_a.Index(host=host).upsert(vectors=[("one", [1.0, 0.0])])
    assert on_a.Index(host=host).fetch(ids=["one"]).vectors["one"].values == [1.0, 0.0]
    # Sent to the server without its files, a data-plane request is refused and nothing is written there.
    status, body = raw_request(a, "POST", data_path(host) + "/vectors/upsert", {"vectors": [{"id": "two", "values": [0.0, 1.0]}]})
    assert status == 412 and b.url in body["message"], (status, body)
    assert not os.path.exists(os.path.join(a.data_dir, "indexes")) or os.listdir(os.path.join(a.data_dir, "indexes")) in ([], ["deleted"])
    assert sorted(on_b.Index(host=host).fetch(ids=["one", "two"]).vectors) == ["one"]


def test_a_quota_holds_when_both_servers_create_at_once(pair):
    a, b = pair.a, pair.b
    organization = admin(a, "GET", "/admin/organizations")[1]["data"][0]["id"]
    changed = pair.operator("org", "plan", "set", "Starter", "--organization", organization)
    assert changed.returncode == 0, changed.stderr
    clients = [Pinecone(api_key=a.api_key, host=server.url) for server in (a, b)]

    def create(i):
        try:
            clients[i % 2].create_index(name=f"race-{i}", dimension=2, metric="cosine", spec=SERVERLESS)
            return "created"
        except Exception as error:  # noqa: BLE001 - the status is what the test reads
            return getattr(error, "status_code", None) or getattr(error, "status", None)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(create, range(12)))
    assert outcomes.count("created") == 5, outcomes  # Starter: five serverless indexes per project
    assert all(outcome == 403 for outcome in outcomes if outcome != "created"), outcomes
    assert len(clients[1].list_indexes().names()) == 5


def test_both_servers_write_one_audit_log(pair):
    a, b = pair.a, pair.b
    for server, name in ((a, "from-a"), (b, "from-b"), (a, "again-a")):
        assert admin(server, "POST", "/admin/projects", {"name": name})[0] in (200, 201)
    for server in (a, b):
        status, page = admin(server, "GET", "/admin/audit-events?resource_type=project&action=create")
        assert status == 200, page
        names = [event["event"]["resource_name"] or event["event"]["resource_id"] for event in page["data"]]
        assert names[:3] == ["again-a", "from-b", "from-a"], names
    verified = pair.operator("audit", "verify")
    assert verified.returncode == 0 and "holds" in verified.stdout, (verified.stdout, verified.stderr)


@pytest.mark.skipif(not os.environ.get("CONIFER_TEST_POSTGRES_STOP"), reason="needs scripts/test's PostgreSQL, which it may stop and start")
def test_the_catalogs_server_going_away_gives_503s_and_no_torn_state_then_both_servers_recover(pair):
    a, b = pair.a, pair.b
    on_a = Pinecone(api_key=a.api_key, host=a.url)
    on_a.create_index(name="before", dimension=2, metric="cosine", spec=SERVERLESS)
    tokens = {server.port: token(server) for server in (a, b)}  # signed in before the catalog goes away
    subprocess.run(os.environ["CONIFER_TEST_POSTGRES_STOP"], shell=True, check=True, capture_output=True)
    try:
        for server in (a, b):
            status, body = raw_request(server, "POST", "/admin/projects", {"name": f"during-{server.port}"}, bearer=tokens[server.port])
            assert status == 503, (status, body)
            status, body = raw_request(server, "GET", "/indexes")
            assert status == 503 and body["error"]["code"] == "UNAVAILABLE", (status, body)
    finally:
        subprocess.run(os.environ["CONIFER_TEST_POSTGRES_START"], shell=True, check=True, capture_output=True)
    # Each pooled connection that died is found on its next use and replaced; within a few requests (not seconds)
    # each server answers again, without a restart, and nothing the refused calls began was kept.
    for server in (a, b):
        answers = [raw_request(server, "GET", "/indexes")[0] for _ in range(12)]
        assert answers[-1] == 200 and answers.count(503) <= 10, answers
        status, projects = raw_request(server, "GET", "/admin/projects", bearer=tokens[server.port])
        assert status == 200 and not [p for p in projects["data"] if p["name"].startswith("during-")], projects
    assert on_a.describe_index("before").status.ready
    verified = pair.operator("audit", "verify")
    assert verified.returncode == 0, (verified.stdout, verified.stderr)
