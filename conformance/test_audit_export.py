"""Audit-log export against a real S3-speaking server: moto's server mode (PyPI `moto[server]`), started by these
tests on loopback. Covers the access-test object, batch names and content, a bucket subdirectory, STS AssumeRole,
an S3 outage with a server restart in the middle (the backlog arrives once), pause and remove flushing what is
pending, a SIGKILL right after acknowledged admin actions, and that no secret reaches an exported object.

Runs with the 10.x SDK's virtualenv (moto is in requirements-sdk10.txt); skipped where moto is not installed.
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import Server, admin, new_api_key, raw_request, token

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

AWS_ENV = {"AWS_ACCESS_KEY_ID": "AKIACONIFERTEST", "AWS_SECRET_ACCESS_KEY": "conifer-moto-secret-" + secrets.token_hex(8), "AWS_REGION": "us-east-1"}
BATCH_NAME = re.compile(r"\d{4}/\d{2}/\d{2}/\d{8}T\d{6}Z-\d{6}\.json")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Moto:
    """moto_server on a fixed loopback port, stoppable and restartable (its state is in memory); over HTTPS with
    `tls=(certificate, key, ca)`."""

    def __init__(self, env=None, tls=None):
        self.port = free_port()
        self.tls = tls
        self.url = f"https://localhost:{self.port}" if tls else f"http://127.0.0.1:{self.port}"
        self.process = None
        self.env = dict(os.environ, **(env or {}))

    def start(self):
        binary = os.path.join(os.path.dirname(sys.executable), "moto_server")
        tls_args = ["-c", self.tls[0], "-k", self.tls[1]] if self.tls else []
        self.process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(self.port), *tls_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        self.s3 = boto3.client("s3", endpoint_url=self.url, aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1",
                               verify=self.tls[2] if self.tls else None)
        self.s3.create_bucket(Bucket="audit-bucket")
        return self

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def objects(self, prefix=""):
        """Every object under the prefix: {key: bytes}."""
        found = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket="audit-bucket", Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = self.s3.get_object(Bucket="audit-bucket", Key=item["Key"])["Body"].read()
        return found


@pytest.fixture
def moto():
    server = Moto().start()
    yield server
    server.stop()


def operator_allows(moto):
    """The flags of an operator who lets organizations export to moto's endpoint, and into its bucket with the
    server's own credentials (by default neither is allowed: tests/OutboundCallTests.swift)."""
    return ["--audit-endpoints", moto.url, "--audit-server-credential-buckets", "audit-bucket"]


@pytest.fixture
def audited(monkeypatch, moto):
    """A Conifer server with AWS credentials in its environment, restartable on the same data directory, whose
    operator allows moto's endpoint and bucket."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    root = tempfile.mkdtemp(prefix="conifer-audit-")
    server = Server(os.path.join(root, "data"), new_api_key(), *operator_allows(moto)).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def export_status(server):
    status, reply = admin(server, "GET", "/admin/audit-log")
    assert status == 200, reply
    return reply


def wait_delivered(server, timeout=30):
    """Waits until nothing is pending or unbatched and returns the status."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        reply = export_status(server)
        exported = reply.get("export") or {}
        if not reply["enabled"] or (exported.get("pending_batches") == 0 and exported.get("unbatched_events") == 0 and exported.get("last_success_at")):
            return reply
        time.sleep(0.2)
    raise AssertionError(f"audit backlog not delivered: {reply}")


def all_events(server):
    events, next_token = [], None
    while True:
        path = "/admin/audit-events?limit=1000" + (f"&paginationToken={next_token}" if next_token else "")
        status, reply = admin(server, "GET", path)
        assert status == 200, reply
        events += reply["data"]
        next_token = (reply.get("pagination") or {}).get("next")
        if not next_token:
            return events


def exported_events(moto, prefix):
    """The events of every batch object under the prefix, checking each object's name."""
    events = []
    for key, body in moto.objects(prefix).items():
        name = key[len(prefix):]
        if name == "audit-log-access-test":
            continue
        assert BATCH_NAME.fullmatch(name), key
        batch = json.loads(body)
        assert isinstance(batch, list) and batch, key
        events += batch
    return events


def enable(server, moto, bucket="audit-bucket/tenant/a", **extra):
    body = {"bucket": bucket, "region": "us-east-1", "endpoint_url": moto.url, "batch_interval_seconds": 1, **extra}
    status, reply = admin(server, "PUT", "/admin/audit-log", body)
    assert status == 200, reply
    return reply


def test_access_test_object_batches_subdirectory_and_no_secrets(audited, moto):
    enabled = enable(audited, moto, role_arn="arn:aws:iam::123456789012:role/audit-writer", external_id="conifer-external-id")
    assert enabled["enabled"] and enabled["state"] == "active" and enabled["bucket"] == "audit-bucket/tenant/a"
    assert "tenant/a/audit-log-access-test" in moto.objects("tenant/a/")

    secrets_seen = [audited.api_key, audited.client_secret, AWS_ENV["AWS_SECRET_ACCESS_KEY"]]
    started = time.time()
    status, project = admin(audited, "POST", "/admin/projects", {"name": "exported-project"})
    assert status == 200, project
    status, key = admin(audited, "POST", f"/admin/projects/{project['id']}/api-keys", {"name": "exported-key"})
    assert status == 201
    secrets_seen.append(key["value"])
    status, account = admin(audited, "POST", "/admin/service-accounts", {"name": "exported-robot"})
    secrets_seen.append(account["client_secret"])
    status, rotated = admin(audited, "POST", f"/admin/service-accounts/{account['service_account']['id']}/rotate-secret")
    secrets_seen.append(rotated["client_secret"])
    status, invite = admin(audited, "POST", "/admin/invites", {"email": "audit@example.com", "role_bindings": [{"resource_type": "organization", "role": "OrgMember"}]})
    assert status == 201
    secrets_seen.append(invite["token"])
    status, _ = raw_request(audited, "POST", "/oauth/token", {"grant_type": "password", "username": "audit@example.com", "password": "not-the-password"})
    assert status == 401

    wait_delivered(audited)
    latency = time.time() - started
    newest_first = all_events(audited)
    enabling = next(i for i, event in enumerate(newest_first) if (event["event"]["action"], event["event"]["resource_type"]) == ("create", "audit-log"))
    local = newest_first[:enabling + 1]  # the export starts with the events after it was enabled, its own event included
    exported = exported_events(moto, "tenant/a/")
    ids = [event["id"] for event in exported]
    assert len(ids) == len(set(ids)), "an event was exported twice"
    assert set(ids) == {event["id"] for event in local}, "exported events differ from the recorded ones"
    actions = {(event["event"]["action"], event["event"]["resource_type"]) for event in exported}
    assert {("create", "audit-log"), ("create", "project"), ("create", "api-key"), ("create", "service-account"),
            ("rotate-secret", "service-account"), ("create", "user"), ("login", "user")} <= actions
    for event in exported:
        assert set(event) == {"id", "organization_id", "organization_name", "client", "actor", "event"}
        assert set(event["event"]) >= {"time", "action", "resource_type", "resource_id", "outcome", "parameters"}
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", event["event"]["time"])
    raw = b"".join(moto.objects("").values())
    for secret in secrets_seen:
        assert secret.encode() not in raw, "a secret reached an exported object"
    print(f"\naudit export: {len(exported)} events in {len(moto.objects('tenant/a/')) - 1} objects; action to delivered {latency:.2f} s (batch interval 1 s)")


def test_outage_restart_and_recovery_deliver_the_backlog_once(audited, moto):
    enable(audited, moto, bucket="audit-bucket/outage")
    wait_delivered(audited)
    before = {event["id"] for event in exported_events(moto, "outage/")}
    moto.stop()
    names = [f"outage-{n}" for n in range(5)]
    for name in names:
        assert admin(audited, "POST", "/admin/projects", {"name": name})[0] == 200
    deadline = time.time() + 45
    while time.time() < deadline:
        status = export_status(audited)
        if status["export"].get("last_error") and status["export"]["pending_batches"] > 0:
            break
        time.sleep(0.3)
    assert status["export"].get("last_error") and status["export"]["pending_batches"] > 0, status
    # The backlog survives a hard kill of the server.
    audited.process.kill()
    audited.process.wait()
    audited.start()
    assert export_status(audited)["export"]["pending_batches"] > 0
    moto.start()
    wait_delivered(audited, timeout=60)
    after = exported_events(moto, "outage/")
    ids = [event["id"] for event in after]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert not (set(ids) & before), "events delivered before the outage were sent again"
    delivered = {event["event"]["resource_id"] for event in after if event["event"]["resource_type"] == "project"}
    assert set(names) <= delivered


def test_pause_and_remove_first_deliver_what_is_pending(audited, moto):
    enable(audited, moto, bucket="audit-bucket/flush", batch_interval_seconds=3600)
    assert admin(audited, "POST", "/admin/projects", {"name": "before-pause"})[0] == 200
    status, paused = admin(audited, "PATCH", "/admin/audit-log", {"paused": True})
    assert status == 200 and paused["state"] == "paused", paused
    assert paused["export"]["pending_batches"] == 0
    exported = exported_events(moto, "flush/")
    assert "before-pause" in {event["event"]["resource_id"] for event in exported}, "pausing delivered what was pending"
    deadline = time.time() + 10
    while not any(event["event"]["parameters"].get("paused") for event in exported) and time.time() < deadline:
        time.sleep(0.2)
        exported = exported_events(moto, "flush/")
    assert any(event["event"]["parameters"].get("paused") for event in exported), "the pause itself reaches the bucket"
    assert admin(audited, "POST", "/admin/projects", {"name": "while-paused"})[0] == 200
    time.sleep(1.5)
    assert "while-paused" not in {event["event"]["resource_id"] for event in exported_events(moto, "flush/")}
    status, resumed = admin(audited, "PATCH", "/admin/audit-log", {"paused": False})
    assert status == 200 and resumed["state"] == "active"
    assert admin(audited, "POST", "/admin/projects", {"name": "before-removal"})[0] == 200
    status, removed = admin(audited, "DELETE", "/admin/audit-log")
    assert status == 202 and removed["state"] == "removing", removed
    names = [event["event"]["resource_id"] for event in exported_events(moto, "flush/")]
    assert {"while-paused", "before-removal"} <= set(names), "removal delivered what was pending, including the paused period"
    wait_delivered(audited)
    assert export_status(audited)["enabled"] is False
    assert admin(audited, "POST", "/admin/projects", {"name": "after-removal"})[0] == 200
    time.sleep(1.5)
    exported = exported_events(moto, "flush/")
    assert ("delete", "audit-log") in {(event["event"]["action"], event["event"]["resource_type"]) for event in exported}, "the removal itself reaches the bucket"
    assert "after-removal" not in {event["event"]["resource_id"] for event in exported}
    ids = [event["id"] for event in exported_events(moto, "flush/")]
    assert len(ids) == len(set(ids))


def test_sigkill_after_acknowledged_actions_loses_no_event(audited, moto):
    enable(audited, moto, bucket="audit-bucket/crash", batch_interval_seconds=3600)
    owner = token(audited)
    names = [f"crash-{n}" for n in range(30)]
    for name in names:
        status, reply = raw_request(audited, "POST", "/admin/projects", {"name": name}, bearer=owner)
        assert status == 200, reply
    audited.process.send_signal(signal.SIGKILL)
    audited.process.wait()
    audited.start()
    recorded = [event["event"]["resource_id"] for event in all_events(audited) if event["event"]["resource_type"] == "project"]
    assert sorted(recorded) == sorted(names), "every acknowledged action's event survived the kill, once"
    assert admin(audited, "PATCH", "/admin/audit-log", {"batch_interval_seconds": 1})[0] == 200
    wait_delivered(audited)
    exported = [event["event"]["resource_id"] for event in exported_events(moto, "crash/") if event["event"]["resource_type"] == "project"]
    assert sorted(exported) == sorted(names), "every event reached the bucket once"


def test_unreachable_or_missing_bucket_is_a_clear_400(audited, moto):
    status, reply = admin(audited, "PUT", "/admin/audit-log", {"bucket": "no-such-bucket", "endpoint_url": moto.url,
                                                             "role_arn": "arn:aws:iam::123456789012:role/audit"})
    assert status == 400 and "audit-log-access-test" in reply["error"]["message"] and "NoSuchBucket" in reply["error"]["message"], reply
    assert export_status(audited)["enabled"] is False


def test_signatures_are_checked_by_an_independent_sigv4_implementation(monkeypatch):
    """moto in strict mode verifies SigV4 and IAM policies after its bootstrap calls: Conifer's signing is accepted
    with the right secret, and a wrong secret is refused with a clear 400 naming S3's error."""
    moto = Moto(env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    moto.start()  # 1: create the bucket
    try:
        iam = boto3.client("iam", endpoint_url=moto.url, aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
        iam.create_user(UserName="conifer")  # 2
        key = iam.create_access_key(UserName="conifer")["AccessKey"]  # 3
        iam.put_user_policy(UserName="conifer", PolicyName="audit", PolicyDocument=json.dumps(  # 4
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        for secret, expected in [(key["SecretAccessKey"], 200), (key["SecretAccessKey"][:-2] + "xx", 400)]:
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
            monkeypatch.setenv("AWS_REGION", "us-east-1")
            root = tempfile.mkdtemp(prefix="conifer-audit-strict-")
            server = Server(os.path.join(root, "data"), new_api_key(), *operator_allows(moto)).start()
            try:
                status, reply = admin(server, "PUT", "/admin/audit-log", {"bucket": "audit-bucket/strict", "endpoint_url": moto.url})
                assert status == expected, reply
                if expected == 400:
                    assert "SignatureDoesNotMatch" in reply["error"]["message"] and secret not in reply["error"]["message"], reply
            finally:
                server.stop()
                shutil.rmtree(root, ignore_errors=True)
        strict = boto3.client("s3", endpoint_url=moto.url, aws_access_key_id=key["AccessKeyId"],
                              aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1")
        assert strict.get_object(Bucket="audit-bucket", Key="strict/audit-log-access-test")["Body"].read()
    finally:
        moto.stop()
