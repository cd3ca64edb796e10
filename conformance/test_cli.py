"""`conifer index …`: the command-line client against a running server."""
import json
import os
import subprocess
import time

from conftest import conifer_binary


def cli(server, *args, api_key=None):
    env = dict(os.environ, CONIFER_URL=server.url, CONIFER_API_KEY=api_key or server.api_key)
    return subprocess.run([conifer_binary(), "index", *args], capture_output=True, text=True, env=env, timeout=60)


def test_cli_index_lifecycle(server, index_name):
    created = cli(server, "create", index_name, "--dimension", "6", "--metric", "dotproduct", "--tag", "env=dev")
    assert created.returncode == 0, created.stderr
    assert index_name in created.stdout
    assert "dotproduct" in created.stdout

    listed = cli(server, "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.strip().splitlines()
    assert header.split()[:3] == ["NAME", "DIMENSION", "METRIC"]
    row = next(r for r in rows if r.split()[0] == index_name)
    assert row.split()[1:3] == ["6", "dotproduct"]

    described = cli(server, "describe", index_name, "--json")
    assert described.returncode == 0, described.stderr
    model = json.loads(described.stdout)
    assert model["dimension"] == 6
    assert model["tags"] == {"env": "dev"}

    configured = cli(server, "configure", index_name, "--deletion-protection", "enabled", "--tag", "env=", "--tag", "team=search", "--json")
    assert configured.returncode == 0, configured.stderr
    model = json.loads(configured.stdout)
    assert model["deletion_protection"] == "enabled"
    assert model["tags"] == {"team": "search"}

    refused = cli(server, "delete", index_name)
    assert refused.returncode != 0
    assert "Deletion protection is enabled" in refused.stderr

    assert cli(server, "configure", index_name, "--deletion-protection", "disabled").returncode == 0
    deleted = cli(server, "delete", index_name)
    assert deleted.returncode == 0, deleted.stderr
    listed = cli(server, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert index_name not in [model["name"] for model in json.loads(listed.stdout)["indexes"]]


def test_cli_reports_server_errors(server):
    missing = cli(server, "describe", "not-there")
    assert missing.returncode != 0
    assert "404" in missing.stderr and "Index not-there not found." in missing.stderr

    invalid = cli(server, "create", "Bad_Name", "--dimension", "3")
    assert invalid.returncode != 0
    assert "Invalid index name" in invalid.stderr

    unauthorized = cli(server, "list", api_key="pcsk_wrong_" + "y" * 40)
    assert unauthorized.returncode != 0
    assert "Invalid API key" in unauthorized.stderr


def test_backups_from_the_cli(server):
    assert cli(server, "create", "cli-backed", "--dimension", "2", "--metric", "cosine").returncode == 0
    made = subprocess.run([conifer_binary(), "backup", "create", "cli-backed", "-n", "cli-nightly", "--json"], capture_output=True, text=True,
                          env=dict(os.environ, CONIFER_URL=server.url, CONIFER_API_KEY=server.api_key), timeout=60)
    assert made.returncode == 0, made.stderr
    backup = json.loads(made.stdout)
    assert backup["name"] == "cli-nightly" and backup["source_index_name"] == "cli-backed"

    def run(*args):
        result = subprocess.run([conifer_binary(), *args], capture_output=True, text=True,
                                env=dict(os.environ, CONIFER_URL=server.url, CONIFER_API_KEY=server.api_key), timeout=60)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    assert "cli-nightly" in run("backup", "list", "--index", "cli-backed")
    assert "cli-nightly" in run("backup", "describe", backup["backup_id"])
    started = run("backup", "restore", backup["backup_id"], "-n", "cli-restored")
    assert "Restore job" in started and "cli-restored" in started
    deadline = time.time() + 30
    while "Completed" not in run("restore-job", "list") and time.time() < deadline:
        time.sleep(0.1)
    assert "Completed" in run("restore-job", "list")
    assert cli(server, "describe", "cli-restored").returncode == 0
    run("backup", "delete", backup["backup_id"])
    assert "cli-nightly" not in run("backup", "list")


def test_the_readme_lists_every_serve_flag():
    """The README's `conifer serve` options table and `conifer serve --help` name the same flags."""
    import pathlib
    import re
    import subprocess

    from conftest import conifer_binary

    shown = subprocess.run([conifer_binary(), "serve", "--help"], capture_output=True, text=True, timeout=60).stdout
    flags = {flag for flag in re.findall(r"^\s+(?:-\w, )?(--[a-z0-9-]+)", shown, re.MULTILINE)} - {"--help"}
    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## `conifer serve` options"):]
    section = section[:section.index("\n## ", 5)]
    documented = {flag for line in section.splitlines() if line.startswith("| `-")
                  for flag in re.findall(r"--[a-z0-9-]*[a-z0-9]", line.split("|")[1])}
    assert flags == documented, {"missing from the README": sorted(flags - documented), "not a flag": sorted(documented - flags)}


def test_serve_keeps_running_when_its_stdout_reader_is_gone(tmp_path):
    """A supervisor that read the first line and went away (a closed pipe) must not stop the server: the lines it
    prints later (the listening address) are dropped, it serves, and SIGTERM ends it with status 0."""
    import signal
    import socket
    import urllib.request
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, CONIFER_BOOTSTRAP_API_KEY="pcsk_stdout_" + "x" * 40)
    server = subprocess.Popen([conifer_binary(), "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port), "--log-level", "warning"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "bootstrapped" in server.stdout.readline()
        server.stdout.close()
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read()[-2000:]
                time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, server.stderr.read()[-2000:]
    finally:
        if server.poll() is None:
            server.kill()
