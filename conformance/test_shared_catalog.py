"""Two `conifer serve` processes on one PostgreSQL catalog (`--catalog`), each with its own data directory: what
one server changes in the catalog holds on the other at its next request — keys, roles, tokens, plans and
quotas (creates racing on both servers), the audit log (one chain, verified by `conifer audit verify --catalog`,
exported to S3 (moto) by both servers with each event once) — and an index is served by the server holding its
files, whose host both describe.

Needs the PostgreSQL server scripts/test starts (CONIFER_TEST_POSTGRES_URL); without it these tests are skipped,
unless CONIFER_REQUIRE_POSTGRES=1, which makes that a failure."""
import base64
import concurrent.futures
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import Server, admin, conifer_binary, data_path, expect_status, free_port, new_api_key, raw_request, token
from test_audit_export import AWS_ENV, all_events, enable, exported_events, moto, operator_allows, wait_delivered  # noqa: F401 - moto is a fixture

POSTGRES = os.environ.get("CONIFER_TEST_POSTGRES_URL")
if not POSTGRES and os.environ.get("CONIFER_REQUIRE_POSTGRES") != "1":
    pytest.skip("needs CONIFER_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)", allow_module_level=True)

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")


class Pair:
    """Servers A (which bootstraps the catalog) and B, on a database of their own, with one master key."""

    def __init__(self, *arguments, env=None):
        """`arguments` and `env` go to both servers."""
        assert POSTGRES, "CONIFER_REQUIRE_POSTGRES=1 but CONIFER_TEST_POSTGRES_URL is not set"
        self.root = tempfile.mkdtemp(prefix="conifer-shared-catalog-")
        database = "conifer_pair_" + secrets.token_hex(6)
        subprocess.run(["psql", POSTGRES, "-qc", f"CREATE DATABASE {database}"], check=True, capture_output=True)
        self.catalog = POSTGRES.rsplit("/", 1)[0] + "/" + database
        self.env = {"CONIFER_CATALOG_URL": self.catalog, "CONIFER_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()} | (env or {})
        self.arguments = arguments
        self.a = self.start(new_api_key())
        self.b = self.start(None)
        # The bootstrap key and the owner service account are the catalog's, not a server's.
        self.b.api_key, self.b.client_secret = self.a.api_key, self.a.client_secret

    def start(self, api_key) -> Server:
        port = free_port()
        name = "a" if api_key else "b"
        return Server(os.path.join(self.root, name), api_key, *self.arguments, env=self.env, port=port).start()

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


def test_with_an_index_store_the_other_server_serves_reads_from_a_replica_that_follows_the_writes(moto):
    """Both servers on one bucket (`--index-store`): the server that does not hold an index serves its reads from a
    replica that polls the bucket for the home's log objects (every 200 ms), and still refuses its writes (412)."""
    pair = Pair("--index-store", "s3://audit-bucket/indexes", "--compact-after-log-files", "3", env=AWS_ENV | {"AWS_ENDPOINT_URL_S3": moto.url})
    try:
        a, b = pair.a, pair.b
        on_a = Pinecone(api_key=a.api_key, host=a.url)
        on_a.create_index(name="replicated", dimension=2, metric="euclidean", spec=SERVERLESS)
        host = on_a.describe_index("replicated").host
        path = data_path(host)
        writer = on_a.Index(host=host)
        writer.upsert(vectors=[(f"v{n}", [float(n), 1.0]) for n in range(10)])

        def on_b(method, suffix, body=None):
            return raw_request(b, method, path + suffix, body)

        status, stats = on_b("POST", "/describe_index_stats", {})
        assert status == 200 and stats["totalVectorCount"] == 10, (status, stats)
        # Each acknowledged write on A is visible on B soon after (printed: the figure belongs to a quiet machine, the
        # assertion only bounds it at 30 s, for a loaded machine).
        lags = []
        for n in range(10, 30):
            writer.upsert(vectors=[(f"v{n}", [float(n), 1.0])])
            acknowledged = time.perf_counter()
            while True:
                status, fetched = on_b("GET", f"/vectors/fetch?ids=v{n}")
                if status == 200 and f"v{n}" in fetched["vectors"]:
                    break
                assert time.perf_counter() - acknowledged < 30, f"v{n} not on B after 30 s"
                time.sleep(0.01)
            lags.append(time.perf_counter() - acknowledged)
        lags.sort()
        print(f"\nreplica freshness over {len(lags)} writes: p50 {lags[len(lags) // 2] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms")
        # B paused while A writes five log files and compacts them (after three): the log objects B has not read are
        # folded away, and B loads the index again from the segment.
        def log_objects():
            pages = moto.s3.get_paginator("list_objects_v2").paginate(Bucket="audit-bucket", Prefix="indexes/")
            return {item["Key"] for page in pages for item in page.get("Contents", []) if "/wal/" in item["Key"]}

        os.kill(b.process.pid, signal.SIGSTOP)
        try:
            before = log_objects()
            writer.delete(ids=["v0"])
            unread = log_objects() - before  # the delete's log object, unless already folded
            for n in range(0, 40, 10):
                writer.upsert(vectors=[(f"w{i}", [float(i), 2.0]) for i in range(n, n + 10)])
            deadline = time.time() + 60
            while time.time() < deadline and unread & log_objects():
                time.sleep(0.2)
            assert not unread & log_objects(), "A did not fold the log object B had not read"
        finally:
            os.kill(b.process.pid, signal.SIGCONT)
        deadline = time.time() + 60
        while on_b("POST", "/describe_index_stats", {})[1]["totalVectorCount"] != 69 and time.time() < deadline:
            time.sleep(0.1)
        assert on_b("POST", "/describe_index_stats", {})[1]["totalVectorCount"] == 69
        assert on_b("POST", "/query", {"vector": [0.0, 1.0], "topK": 1})[1]["matches"][0]["id"] == "v1"
        status, body = on_b("POST", "/vectors/upsert", {"vectors": [{"id": "x", "values": [0.0, 1.0]}]})
        assert status == 412 and a.url in body["message"], (status, body)
        assert "x" not in writer.fetch(ids=["x"]).vectors
    finally:
        pair.stop()


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


def test_both_servers_export_the_one_audit_log_and_each_event_once(moto):
    """Both servers run the exporter: each cuts batches in a serializable transaction, so an event lands in one
    batch, and a batch both deliver is the same object written twice."""
    pair = Pair(*operator_allows(moto), env=AWS_ENV)
    try:
        enable(pair.a, moto, bucket="audit-bucket/shared")

        def create(i):
            return admin((pair.a, pair.b)[i % 2], "POST", "/admin/projects", {"name": f"exported-{i}"})[0]

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(create, range(16))) <= {200, 201}
        for server in (pair.a, pair.b):
            wait_delivered(server)
        exported = exported_events(moto, "shared/")
        ids = [event["id"] for event in exported]
        assert len(ids) == len(set(ids)), "an event was exported twice"
        newest_first = all_events(pair.b)
        enabling = next(i for i, event in enumerate(newest_first) if (event["event"]["action"], event["event"]["resource_type"]) == ("create", "audit-log"))
        assert set(ids) == {event["id"] for event in newest_first[:enabling + 1]}, "exported events differ from the log"
        created = {event["event"]["resource_id"] for event in exported if event["event"]["resource_type"] == "project"}
        assert created >= {f"exported-{i}" for i in range(16)}, created
    finally:
        pair.stop()


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


def test_a_data_directorys_catalog_moves_to_postgresql_and_is_served_from_there():
    """`conifer catalog migrate`: a server's SQLite catalog copied into PostgreSQL (counted table by table against
    SQLite's file), then the same data directory served on the PostgreSQL catalog: keys, roles, the index and its
    vectors, a backup (sealed columns, sealed again), the audit log (chained again, verified)."""
    root = tempfile.mkdtemp(prefix="conifer-catalog-migrate-")
    env = {"CONIFER_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    data_dir, port = os.path.join(root, "data"), free_port()
    before = Server(data_dir, new_api_key(), env=env, port=port).start()
    try:
        pc = Pinecone(api_key=before.api_key, host=before.url)
        pc.create_index(name="moving", dimension=2, metric="cosine", spec=SERVERLESS, tags={"team": "search"})
        index = pc.Index(host=pc.describe_index("moving").host)
        index.upsert(vectors=[("one", [1.0, 0.0], {"genre": "drama"}), ("two", [0.0, 1.0], {"genre": "comedy"})], namespace="films")
        backup = pc.create_backup(index_name="moving", backup_name="nightly", description="before the move")
        project = admin(before, "POST", "/admin/projects", {"name": "second"})[1]
        status, viewer = admin(before, "POST", f"/admin/projects/{project['id']}/api-keys", {"name": "viewer", "roles": ["ProjectViewer"]})
        assert status in (200, 201), viewer
    finally:
        before.stop()

    database = "conifer_migrate_" + secrets.token_hex(6)
    subprocess.run(["psql", POSTGRES, "-qc", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    catalog = POSTGRES.rsplit("/", 1)[0] + "/" + database

    def migrate():
        return subprocess.run(
            [conifer_binary(), "catalog", "migrate", "--from", f"sqlite:{data_dir}", "--to", catalog, "--home", f"http://localhost:{port}"],
            capture_output=True, text=True, timeout=120, env=dict(os.environ) | env,
        )

    moved = migrate()
    assert moved.returncode == 0, (moved.stdout, moved.stderr)
    # Every table holds as many rows in PostgreSQL as in the SQLite file (read here, not from the command's report).
    import sqlite3
    with sqlite3.connect(os.path.join(data_dir, "catalog.sqlite")) as sqlite:
        tables = [name for (name,) in sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if name not in ("grdb_migrations", "sqlite_sequence", "audit_chain")]
        counts = {table: sqlite.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
    reported = {line.split()[0]: int(line.split()[1]) for line in moved.stdout.splitlines() if line.startswith("  ")}
    for table, count in counts.items():
        copied = subprocess.run(["psql", catalog, "-tAc", f'SELECT count(*) FROM "{table}"'], check=True, capture_output=True, text=True)
        assert int(copied.stdout) == count == reported.get(table, 0), (table, count, copied.stdout, moved.stdout)
    assert counts["audit_event"] > 0 and counts["api_key"] >= 2 and counts["backup"] == 1

    after = Server(data_dir, before.api_key, env=env | {"CONIFER_CATALOG_URL": catalog}, port=port)
    after.client_secret = before.client_secret
    after.start()
    try:
        pc = Pinecone(api_key=after.api_key, host=after.url)
        assert pc.list_indexes().names() == ["moving"]
        described = pc.describe_index("moving")
        assert described.host.startswith(after.url) and described.tags == {"team": "search"}, described
        index = pc.Index(host=described.host)
        fetched = index.fetch(ids=["one", "two"], namespace="films").vectors
        assert fetched["one"].values == [1.0, 0.0] and fetched["two"].metadata == {"genre": "comedy"}
        matches = index.query(vector=[0.0, 1.0], top_k=1, namespace="films", filter={"genre": "comedy"}).matches
        assert [match.id for match in matches] == ["two"]
        backups = pc.list_backups(index_name="moving").data
        assert [(b.backup_id, b.name, b.description) for b in backups] == [(backup.backup_id, "nightly", "before the move")]
        # The viewer key made before the move still reads and still may not write.
        on_second = Pinecone(api_key=viewer["value"], host=after.url)
        assert on_second.list_indexes().names() == []
        expect_status(403, on_second.create_index, name="denied", dimension=2, metric="cosine", spec=SERVERLESS)
        # The audit log from before the move is there, and the catalog's chain verifies.
        status, page = admin(after, "GET", "/admin/audit-events?resource_type=project&action=create")
        assert status == 200 and "second" in [e["event"]["resource_name"] for e in page["data"]], page
    finally:
        after.stop()
    verified = subprocess.run(
        [conifer_binary(), "audit", "verify", "--data-dir", os.path.join(root, "operator"), "--catalog", catalog],
        capture_output=True, text=True, timeout=120, env=dict(os.environ) | env,
    )
    assert verified.returncode == 0 and "holds" in verified.stdout, (verified.stdout, verified.stderr)
    # A second run finds the catalog in use and copies nothing.
    again = migrate()
    assert again.returncode == 1 and "not empty" in again.stderr, (again.stdout, again.stderr)
    shutil.rmtree(root, ignore_errors=True)
