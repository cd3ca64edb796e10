"""Mail through a real SMTP server in this test process (aiosmtpd): invitations are delivered over STARTTLS with a
password, carry what it takes to accept them, and an SMTP outage across a restart of Conifer delays a message but
does not lose it; `conifer mail status` shows what happened; spend alerts and the spike alert are mailed once per
billing cycle."""
import email
import email.policy
import json
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import Server, conifer_binary, new_api_key, raw_request

SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-secret-password"


class Inbox:
    """Every message the SMTP server accepted: (envelope sender, envelope recipients, parsed message)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message, session.authenticated, bool(session.ssl)))
        return "250 Message accepted for delivery"

    def wait_for(self, recipient, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivered in self.messages:
                if recipient in delivered[1]:
                    return delivered
            time.sleep(0.2)
        raise AssertionError(f"no message to {recipient} within {timeout} s; got {[m[1] for m in self.messages]}")


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == SMTP_PASSWORD
    return AuthResult(success=ok)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates():
    """A CA and a certificate for `localhost` signed by it."""
    directory = tempfile.mkdtemp(prefix="conifer-smtp-tls-")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=Conifer test mail CA", cwd=directory)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "smtp.key", "-out", "smtp.csr",
            "-subj", "/CN=localhost", cwd=directory)
    with open(os.path.join(directory, "san.ext"), "w") as extension:
        extension.write("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "smtp.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "smtp.pem",
            "-days", "2", "-extfile", "san.ext", cwd=directory)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def smtp_server(inbox, port, certificates):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.path.join(certificates, "smtp.pem"), os.path.join(certificates, "smtp.key"))
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticate, auth_require_tls=True)
    controller.start()
    return controller


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_invitations_are_mailed_and_an_outage_delays_but_loses_nothing(certificates):
    inbox, port = Inbox(), free_port()
    smtp = smtp_server(inbox, port, certificates)
    root = tempfile.mkdtemp(prefix="conifer-mail-")
    server = Server(os.path.join(root, "data"), new_api_key(), "--mail-from", "conifer@example.com",
                    "--smtp-ca-file", os.path.join(certificates, "ca.pem"), "--mail-retry-seconds", "1",
                    env={"CONIFER_SMTP_URL": f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@localhost:{port}"}).start()
    try:
        _, reply = raw_request(server, "POST", "/oauth/token", {
            "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret})
        owner = reply["access_token"]
        _, organizations = raw_request(server, "GET", "/admin/organizations", bearer=owner)
        organization = organizations["data"][0]
        invite = {"email": "ada@example.com", "role_bindings": [{"resource_type": "organization", "role": "OrgMember"}]}
        status, created = raw_request(server, "POST", "/admin/invites", invite, bearer=owner)
        assert status == 201 and "token" not in created, created  # it is mailed, not handed to the inviter

        sender, recipients, message, authenticated, encrypted = inbox.wait_for("ada@example.com")
        assert sender == "conifer@example.com" and recipients == ["ada@example.com"] and authenticated and encrypted
        assert message["To"] == "ada@example.com" and message["From"] == "conifer@example.com"
        assert message["Subject"] == f"You are invited to join {organization['name']} on Conifer"
        body = message.get_content()
        assert f"{server.url}/oauth/accept-invite" in body, body
        token = re.search(r"Token: (pcinv_\S+)", body).group(1)
        assert f"{server.url}/console/accept-invite?token={token}" in body, "the link to accept in the browser"
        assert raw_request(server, "POST", "/oauth/accept-invite", {"token": token, "password": "a long enough password"})[0] == 200
        status, login = raw_request(server, "POST", "/oauth/token", {"grant_type": "password", "username": "ada@example.com", "password": "a long enough password"})
        assert status == 200 and login["access_token"]

        # The SMTP server goes away: the next invite waits in the outbox, its failures recorded.
        smtp.stop()
        invite["email"] = "bob@example.com"
        assert raw_request(server, "POST", "/admin/invites", invite, bearer=owner)[0] == 201
        mail = f"/admin/organizations/{organization['id']}/mail"
        deadline = time.monotonic() + 60
        while True:
            _, listed = raw_request(server, "GET", mail, bearer=owner)
            waiting = [m for m in listed["data"] if m["recipients"] == ["bob@example.com"]]
            if (waiting and waiting[0]["attempts"] >= 1) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert waiting[0]["status"] == "pending" and waiting[0]["last_error"] and waiting[0]["next_attempt_at"], waiting
        assert SMTP_PASSWORD not in json.dumps(listed) and "pcinv_" not in json.dumps(listed)

        # Conifer restarts while the SMTP server is still down; once it is back, the message arrives.
        assert server.stop() == 0
        server.start()
        smtp = smtp_server(inbox, port, certificates)
        _, recipients, message, _, _ = inbox.wait_for("bob@example.com")
        assert message["Subject"].startswith("You are invited to join")
        owner = raw_request(server, "POST", "/oauth/token", {
            "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret})[1]["access_token"]
        deadline = time.monotonic() + 30
        while True:
            _, listed = raw_request(server, "GET", mail, bearer=owner)
            if all(m["status"] == "sent" for m in listed["data"]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        by_recipient = {m["recipients"][0]: m for m in listed["data"]}
        assert by_recipient["ada@example.com"]["status"] == "sent" and by_recipient["ada@example.com"]["attempts"] == 1
        assert by_recipient["bob@example.com"]["status"] == "sent" and by_recipient["bob@example.com"]["attempts"] >= 2
        assert by_recipient["bob@example.com"]["last_error"]  # what delayed it stays visible
        assert "last_error" not in by_recipient["ada@example.com"]

        # The same through the command-line client.
        config = tempfile.mkdtemp(prefix="conifer-cli-")
        environment = dict(os.environ, CONIFER_CONFIG_DIR=config, CONIFER_URL=server.url)
        subprocess.run([conifer_binary(), "login", "--client-id", server.client_id, "--client-secret", server.client_secret],
                       env=environment, check=True, capture_output=True)
        shown = subprocess.run([conifer_binary(), "mail", "status"], env=environment, check=True, capture_output=True, text=True).stdout
        assert "bob@example.com" in shown and "sent" in shown and "invite" in shown
        for _, recipients, message, _, _ in inbox.messages:
            print(f"delivered to {recipients}: {message['Subject']!r} ({len(message.get_content())} characters)")
    finally:
        server.stop()
        smtp.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_spend_alerts_are_mailed_once_per_cycle(certificates):
    """A spend alert and the spike alert, set with `conifer spend-alert`, fire when this month's cost (ledger rows
    written into the catalog: $24 of read units this month at Enterprise prices, $12 last month) reaches them: each
    recipient gets one message, once, and each firing is one audit event."""
    inbox, port = Inbox(), free_port()
    smtp = smtp_server(inbox, port, certificates)
    root = tempfile.mkdtemp(prefix="conifer-alerts-")
    data_dir = os.path.join(root, "data")
    server = Server(data_dir, new_api_key(), "--mail-from", "billing@example.com", "--smtp-ca-file", os.path.join(certificates, "ca.pem"),
                    "--spend-alert-seconds", "1",
                    env={"CONIFER_SMTP_URL": f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@localhost:{port}"}).start()
    try:
        config = tempfile.mkdtemp(prefix="conifer-cli-")
        environment = dict(os.environ, CONIFER_CONFIG_DIR=config, CONIFER_URL=server.url)

        def cli(*args, check=True):
            done = subprocess.run([conifer_binary(), *args], env=environment, capture_output=True, text=True, timeout=60)
            assert not check or done.returncode == 0, (args, done.stdout, done.stderr)
            return done

        cli("login", "--client-id", server.client_id, "--client-secret", server.client_secret)
        created = json.loads(cli("spend-alert", "create", "--amount", "20", "--email", "ap@example.com", "--email", "cfo@example.com", "--json").stdout)
        assert created["type"] == "spend" and created["amount_usd"] == 20 and created["recipients"] == ["ap@example.com", "cfo@example.com"]
        cli("spend-alert", "update", "spike", "--email", "ops@example.com", "--disable")
        assert json.loads(cli("spend-alert", "list", "--json").stdout)["data"][0]["enabled"] is False
        cli("spend-alert", "update", "spike", "--enable")
        refused = cli("spend-alert", "delete", "spike", check=False)
        assert refused.returncode != 0 and "cannot be deleted" in refused.stderr, (refused.stdout, refused.stderr)
        listed = cli("spend-alert", "list").stdout
        assert "spike" in listed and created["id"] in listed and "ops@example.com" in listed, listed

        # This month $24 (a million read units at Enterprise's $24), last month $12: both thresholds are reached.
        now = datetime.now(timezone.utc)
        hour = int(now.timestamp()) // 3600 * 3600
        last_month = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)).replace(day=1)
        _, organizations = raw_request(server, "GET", "/admin/organizations", bearer=owner_token(server))
        organization = organizations["data"][0]
        with sqlite3.connect(os.path.join(data_dir, "catalog.sqlite"), timeout=30) as db:
            for at, quantity in [(hour, 1_000_000), (int(last_month.timestamp()), 500_000)]:
                db.execute(
                    "INSERT INTO usage_ledger (resource_id, sku, hour, organization_id, project_id, resource_name, region, quantity)"
                    " VALUES (?, 'serverless_read_units', ?, ?, ?, 'shelf', 'us-east-1', ?)",
                    (str(uuid.uuid4()), at, organization["id"], str(uuid.uuid4()), quantity),
                )

        for recipient in ["ap@example.com", "ops@example.com"]:
            inbox.wait_for(recipient)
        time.sleep(3)  # evaluated about three more times: nothing fires again in this cycle
        delivered = [(recipients, message) for _, recipients, message, _, _ in inbox.messages]
        assert sorted(recipients for recipients, _ in delivered) == [["ap@example.com", "cfo@example.com"], ["ops@example.com"]], delivered
        by_recipient = {recipients[0]: message for recipients, message in delivered}
        spend, spike = by_recipient["ap@example.com"], by_recipient["ops@example.com"]
        cycle = now.strftime("%Y-%m")
        assert spend["Subject"] == f"Spend alert: {organization['name']} has reached $20.00 in {cycle}" and spend["From"] == "billing@example.com"
        assert "has spent $24.00 so far" in spend.get_content() and f"{server.url}/admin/organizations/{organization['id']}/usage" in spend.get_content()
        assert spike["Subject"] == f"Spike alert: {organization['name']}'s spend in {cycle} is twice last month's"
        assert "previous cycle's total of $12.00" in spike.get_content()

        _, events = raw_request(server, "GET", "/admin/audit-events?limit=100", bearer=owner_token(server))
        fired = [e["event"] for e in events["data"] if e["event"]["action"] == "alert"]
        assert sorted(e["resource_id"] for e in fired) == sorted([created["id"], "spike"]), fired
        shown = json.loads(cli("spend-alert", "list", "--json").stdout)["data"]
        assert all(alert["last_fired_cycle"] == cycle for alert in shown), shown
        for recipients, message in delivered:
            print(f"delivered to {recipients}: {message['Subject']!r}\n{message.get_content()}")
    finally:
        server.stop()
        smtp.stop()
        shutil.rmtree(root, ignore_errors=True)


def owner_token(server):
    return raw_request(server, "POST", "/oauth/token", {
        "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret})[1]["access_token"]
