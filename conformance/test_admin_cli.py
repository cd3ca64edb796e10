"""The `conifer` command-line client of the Admin API against a running server."""
import json
import os
import re
import subprocess
import tempfile

import pytest

from conftest import conifer_binary, raw_request


@pytest.fixture
def cli(server):
    config = tempfile.mkdtemp(prefix="conifer-cli-")

    def run(*args, check=True):
        env = dict(os.environ, CONIFER_CONFIG_DIR=config, CONIFER_URL=server.url)
        result = subprocess.run([conifer_binary(), *args], capture_output=True, text=True, env=env, timeout=120)
        if check:
            assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    run("login", "--client-id", server.client_id, "--client-secret", server.client_secret)
    session = os.path.join(config, "session.json")
    assert oct(os.stat(session).st_mode & 0o777) == "0o600"
    return run


def test_projects_keys_and_target(cli, server):
    created = json.loads(cli("project", "create", "--name", "cli-project", "--max-pods", "2", "--json").stdout)
    assert created["max_pods"] == 2
    assert "cli-project" in cli("project", "list").stdout
    cli("project", "update", "-i", "cli-project", "--name", "cli-project-2")
    described = json.loads(cli("project", "describe", "-i", created["id"], "--json").stdout)
    assert described["name"] == "cli-project-2"
    cli("target", "--project", "cli-project-2")

    made = cli("api-key", "create", "--name", "ci", "--roles", "ControlPlaneViewer,DataPlaneViewer").stdout
    value = re.search(r"pcsk_\S+", made).group(0)
    key_id = re.search(r"API key (\S+)", made).group(1)
    status, listing = raw_request(server, "GET", "/indexes", api_key=value)
    assert status == 200 and listing == {"indexes": []}
    listed = cli("api-key", "list").stdout
    assert "ControlPlaneViewer,DataPlaneViewer" in listed
    cli("api-key", "update", "-i", key_id, "--roles", "ProjectEditor")
    assert json.loads(cli("api-key", "describe", "-i", key_id, "--json").stdout)["roles"] == ["ProjectEditor"]
    cli("api-key", "delete", "-i", key_id)
    assert raw_request(server, "GET", "/indexes", api_key=value)[0] == 401

    denied = cli("api-key", "create", "--name", "x", "--roles", "Superuser", check=False)
    assert denied.returncode != 0 and "Unknown role" in denied.stderr
    cli("project", "delete", "-i", created["id"])
    assert "cli-project-2" not in cli("project", "list").stdout


def test_service_accounts_members_and_plans(cli, server):
    made = cli("service-account", "create", "--name", "cli-robot", "--role", "OrgMember").stdout
    account = re.search(r"Service account (\S+)", made).group(1)
    secret = re.search(r"client secret: (\S+)", made).group(1)
    assert "cli-robot" in cli("service-account", "list").stdout
    project = json.loads(cli("project", "create", "--name", "cli-shared", "--json").stdout)["id"]
    cli("service-account", "connect", "-i", account, "--project", project, "--role", "ProjectMember")
    rotated = cli("service-account", "rotate-secret", "-i", account).stdout
    assert re.search(r"client secret: (\S+)", rotated).group(1) != secret
    cli("service-account", "disconnect", "-i", account, "--project", project)
    cli("service-account", "update", "-i", account, "--name", "cli-robot-2")
    assert "cli-robot-2" in cli("service-account", "list").stdout
    cli("service-account", "delete", "-i", account)
    assert "cli-robot-2" not in cli("service-account", "list").stdout

    invited = cli("member", "invite", "--email", "cli-user@example.com", "--project", project).stdout
    token = re.search(r"pcinv_\S+", invited).group(0)
    status, user = raw_request(server, "POST", "/oauth/accept-invite", {"token": token, "password": "a long enough password"})
    assert status == 200, user
    members = cli("member", "list").stdout
    assert "cli-user@example.com" in members and "OrgMember" in members
    cli("member", "update", "-i", user["id"], "--role", "OrgManager")
    assert "OrgManager" in cli("member", "list").stdout
    cli("member", "remove", "-i", user["id"])
    assert "cli-user@example.com" not in cli("member", "list").stdout
    cli("project", "delete", "-i", project)

    # Plans are an operator's command on the data directory; the running server sees the change at once.
    assert "Standard plan" in cli("org", "plan", "set", "Standard", "--data-dir", server.data_dir).stdout
    refused = cli("service-account", "create", "--name", "needs-enterprise", check=False)
    assert refused.returncode != 0 and "402" in refused.stderr
    assert "Enterprise plan" in cli("org", "plan", "set", "Enterprise", "--data-dir", server.data_dir).stdout
    bad = cli("org", "plan", "set", "Platinum", "--data-dir", server.data_dir, check=False)
    assert bad.returncode != 0 and "Unknown plan" in bad.stderr


def test_login_failure_is_reported(server):
    env = dict(os.environ, CONIFER_CONFIG_DIR=tempfile.mkdtemp(), CONIFER_URL=server.url)
    result = subprocess.run([conifer_binary(), "login", "--client-id", server.client_id, "--client-secret", "wrong-secret-0123456789"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0
    assert "Login failed" in result.stderr


def test_audit_events_status_and_plan_changes(cli, server):
    cli("project", "create", "--name", "cli-audited")
    listed = cli("audit", "events", "--resource-type", "project", "--action", "create", "--limit", "5").stdout
    assert listed.splitlines()[0].split() == ["TIME", "ACTION", "RESOURCE_TYPE", "RESOURCE_ID", "ACTOR", "RESULT"]
    assert '"cli-audited"' in listed and "success" in listed
    newest = json.loads(cli("audit", "events", "--json", "--limit", "1").stdout)
    assert len(newest["data"]) == 1 and newest["pagination"]["next"]
    following = json.loads(cli("audit", "events", "--json", "--limit", "1", "--pagination-token", newest["pagination"]["next"]).stdout)
    assert following["data"][0]["id"] != newest["data"][0]["id"]
    # An operator's plan change on the data directory is recorded too, with the operator as the actor.
    cli("org", "plan", "set", "Enterprise", "--data-dir", server.data_dir)
    plan = json.loads(cli("audit", "events", "--json", "--resource-type", "organization", "--limit", "1").stdout)["data"][0]
    assert plan["actor"]["principal_type"] == "system" and plan["event"]["parameters"] == {"plan": "Enterprise"}
    assert json.loads(cli("audit", "status", "--json").stdout) == {"enabled": False}
    # An endpoint the operator did not allow: the server's refusal, printed by the CLI.
    refused = cli("audit", "enable", "--bucket", "nowhere", "--endpoint-url", "http://127.0.0.1:9", check=False)
    assert refused.returncode != 0 and "--audit-endpoints" in refused.stderr
    bad = cli("audit", "events", "--since", "yesterday", check=False)
    assert bad.returncode != 0 and "RFC 3339" in bad.stderr


def test_private_endpoints_and_private_only(cli, server):
    project = json.loads(cli("project", "create", "--name", "cli-private", "--json").stdout)["id"]
    made = json.loads(cli("private-endpoint", "create", "-n", "office", "--region", "us-east-1", "--cidr", "10.1.0.0/16", "--cidr", "fd00::/8",
                          "--project", project, "--json").stdout)
    assert made["allowed_cidrs"] == ["10.1.0.0/16", "fd00::/8"]
    cli("private-endpoint", "create", "-n", "link", "--region", "us-east-1", "--vpc-endpoint-id", "vpce-0123456789abcdef0", "--project", project)
    listed = cli("private-endpoint", "list", "--project", project).stdout
    assert "office" in listed and "vpce-0123456789abcdef0" in listed
    bad = cli("private-endpoint", "create", "-n", "x", "--region", "us-east-1", "--cidr", "10.1.2.3/16", "--project", project, check=False)
    assert bad.returncode != 0 and "did you mean 10.1.0.0/16" in bad.stderr

    assert json.loads(cli("project", "update", "-i", project, "--private-only", "--json").stdout)["private_endpoint_access_only"] is True
    assert json.loads(cli("project", "update", "-i", project, "--no-private-only", "--json").stdout)["private_endpoint_access_only"] is False
    cli("private-endpoint", "delete", "--id", made["id"], "--project", project)
    assert "office" not in cli("private-endpoint", "list", "--project", project).stdout


def test_usage_report_and_project_tags(cli, server):
    import csv
    import io
    import time

    from conftest import data_path

    made = json.loads(cli("project", "create", "--name", "cli-usage", "--tag", "team=search", "--tag", "cost-center=42", "--json").stdout)
    assert made["tags"] == {"team": "search", "cost-center": "42"}
    assert json.loads(cli("project", "update", "-i", "cli-usage", "--tag", "cost-center=", "--json").stdout)["tags"] == {"team": "search"}
    assert "team=search" in cli("project", "describe", "-i", made["id"]).stdout

    # A workload on an index of the bootstrap key's project: two upserts (5 write units each) and a fetch.
    status, _ = raw_request(server, "POST", "/indexes", {
        "name": "cli-usage", "dimension": 2, "metric": "cosine", "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}, "tags": {"env": "test"}})
    assert status == 201
    _, described = raw_request(server, "GET", "/indexes/cli-usage")
    path = data_path(described["host"])
    for record in ({"id": "a", "values": [1, 0]}, {"id": "b", "values": [0, 1]}):
        assert raw_request(server, "POST", f"{path}/vectors/upsert", {"vectors": [record]})[0] == 200
    assert raw_request(server, "GET", f"{path}/vectors/fetch?ids=a")[0] == 200

    # The server writes metered units to its ledger every ten seconds: wait for this index's rows.
    deadline = time.monotonic() + 90
    while True:
        rows = [row for row in csv.DictReader(io.StringIO(cli("usage", "--csv").stdout)) if row["resource_name"] == "cli-usage"]
        if {row["sku"] for row in rows} >= {"serverless_read_units", "serverless_write_units"} or time.monotonic() > deadline:
            break
        time.sleep(1)
    by_sku = {row["sku"]: row for row in rows}
    assert float(by_sku["serverless_write_units"]["quantity"]) == 10 and float(by_sku["serverless_read_units"]["quantity"]) == 1
    assert by_sku["serverless_write_units"]["resource_tags"] == '{"env":"test"}' and by_sku["serverless_write_units"]["region"] == "us-east-1"
    report = json.loads(cli("usage", "--json").stdout)
    per_million = {"Standard": 4, "Enterprise": 6}[report["plan"]]  # Pinecone's list prices per million write units
    assert abs(float(by_sku["serverless_write_units"]["cost_usd"]) - 10 * per_million / 1e6) < 1e-12
    everything = list(csv.DictReader(io.StringIO(cli("usage", "--csv").stdout)))
    assert abs(sum(float(row["cost_usd"]) for row in everything) - report["total_cost"]) < 1e-6
    assert "serverless_write_units" in cli("usage").stdout and "Total" in cli("usage").stdout
    assert "default" in cli("usage", "--by", "project").stdout
    bad = cli("usage", "--by", "region", check=False)
    assert bad.returncode != 0 and "group_by must be" in bad.stderr
