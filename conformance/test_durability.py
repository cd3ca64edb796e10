"""Durability is proven, not assumed: `conifer serve` runs under strace while a client sends every kind of
write one at a time, and the trace must show, for every acknowledged write, this order of completed
system calls before the response's first byte is written to the socket:

- a data write: the log file written under a temporary name → fsync of that file → rename to
  `wal/<sequence>.log` → fsync of the `wal` directory → response;
- a catalog write (index create, configure, delete): fdatasync/fsync of the catalog's WAL file → response;
- a compaction: segment fsync → rename → fsync of `segments/` → manifest fsync → rename → fsync of the index
  directory → only then any folded log file is unlinked.

SIGKILL (test_crash.py) keeps the page cache and cannot see a missing fsync; this can."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import Server, data_path, new_api_key, raw_request

SYSCALLS = "openat,close,write,writev,sendmsg,sendto,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat"
LINE = re.compile(r"^(\d+) +(\d+\.\d+) (.*)$")


class Call:
    def __init__(self, pid, start, name, text):
        self.pid, self.start, self.end, self.name, self.text = pid, start, start, name, text
        self.result = None

    def __repr__(self):
        return f"{self.name} {self.text[:110]} = {self.result}"


def parse(path):
    """System calls in order of completion, with start and end times (unfinished/resumed joined per thread)."""
    calls, pending = [], {}
    with open(path) as trace:
        for line in trace:
            match = LINE.match(line.rstrip("\n"))
            if not match:
                continue
            pid, when, rest = int(match.group(1)), float(match.group(2)), match.group(3)
            if rest.startswith("<... "):
                name = rest[5:].split(" ", 1)[0]
                call = pending.pop(pid, None)
                if call is None or call.name != name:
                    continue
                call.text += rest.split("resumed>", 1)[1]
                call.end = when
            elif rest.startswith("---") or rest.startswith("+++"):
                continue
            else:
                name = rest.split("(", 1)[0]
                call = Call(pid, when, name, rest[len(name) + 1:])
                if rest.endswith("<unfinished ...>"):
                    call.text = call.text[: -len("<unfinished ...>")]
                    pending[pid] = call
                    continue
            result = call.text.rsplit(" = ", 1)
            call.result = result[1].split(" ")[0] if len(result) == 2 else None
            calls.append(call)
    return sorted(calls, key=lambda c: c.end)


def first_path(call):
    match = re.search(r'"([^"]*)"', call.text)
    return match.group(1) if match else None


def paths(call):
    return re.findall(r'"([^"]*)"', call.text)


def fd_argument(call):
    return int(call.text.split(",", 1)[0].split(")", 1)[0])


class Timeline:
    """The trace with file descriptors resolved to the paths they were opened on at the time."""

    def __init__(self, calls):
        self.calls = calls
        self.path_of = {}  # id(call) → path of its fd argument
        open_fds = {}
        for call in sorted(calls, key=lambda c: c.start):
            if call.name == "openat" and call.result and call.result.isdigit():
                open_fds[int(call.result)] = first_path(call)
            elif call.name in ("fsync", "fdatasync", "write", "close"):
                path = open_fds.get(fd_argument(call))
                self.path_of[id(call)] = path
                if call.name == "close":
                    open_fds.pop(fd_argument(call), None)

    def synced(self, predicate, after, before):
        """fsync/fdatasync calls on a path matching `predicate`, started after `after`, done before `before`."""
        return [c for c in self.calls if c.name in ("fsync", "fdatasync") and c.result == "0"
                and predicate(self.path_of.get(id(c)) or "") and c.start >= after and c.end <= before]

    def responses(self):
        return [c for c in self.calls if c.name in ("writev", "write", "sendmsg", "sendto") and '"HTTP/1.1 ' in c.text]


@pytest.fixture
def traced(tmp_path_factory):
    if shutil.which("strace") is None:
        pytest.fail("strace is required (scripts/test installs it)")
    root = tempfile.mkdtemp(prefix="conifer-durability-")
    trace = os.path.join(root, "trace.log")
    server = Server(os.path.join(root, "data"), new_api_key(), "--compact-after-log-files", "4",
                    prefix=["strace", "-f", "-ttt", "-s", "48", "-e", f"trace={SYSCALLS}", "-o", trace]).start()
    yield server, trace
    stop_traced(server)
    shutil.rmtree(root, ignore_errors=True)


def stop_traced(server):
    """SIGTERM to conifer itself (strace's child), then wait for strace to write the rest of the trace."""
    if server.process is None:
        return
    children = open(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read().split()
    for child in children:
        os.kill(int(child), signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
    server.stop()


def test_every_acknowledged_write_is_fsynced_renamed_and_its_directory_fsynced_before_the_response(traced):
    server, trace = traced
    # A read first, so that what the server synced while starting cannot count for the first write.
    assert raw_request(server, "GET", "/health")[0] == 200
    index = {"name": "durable", "dimension": 2, "metric": "cosine", "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}}
    status, model = raw_request(server, "POST", "/indexes", index)
    assert status == 201, model
    path = data_path(model["host"])
    v = lambda i: {"id": f"r{i}", "values": [1.0, float(i)], "metadata": {"i": i, "even": i % 2 == 0}}  # noqa: E731
    requests = [("read", "health", None), ("catalog", "create index", None)]  # the requests above
    plan = [
        ("data", "upsert", ("POST", "/vectors/upsert", {"vectors": [v(i) for i in range(10)]})),
        ("data", "upsert overwrite", ("POST", "/vectors/upsert", {"vectors": [v(1), v(2)]})),
        ("data", "update values", ("POST", "/vectors/update", {"id": "r3", "values": [0.5, 0.5]})),
        ("data", "update metadata", ("POST", "/vectors/update", {"id": "r4", "setMetadata": {"tag": "x"}})),
        ("data", "delete ids", ("POST", "/vectors/delete", {"ids": ["r5", "r6"]})),
        ("data", "create namespace", ("POST", "/namespaces", {"name": "made"})),
        ("data", "upsert into a namespace", ("POST", "/vectors/upsert", {"vectors": [v(20), v(21)], "namespace": "other"})),
        ("pause", "let compaction run", None),
        ("data", "delete all in a namespace", ("POST", "/vectors/delete", {"deleteAll": True, "namespace": "other"})),
        ("data", "delete a namespace", ("DELETE", "/namespaces/made", None)),
        ("data", "delete by filter", ("POST", "/vectors/delete", {"filter": {"even": {"$eq": True}}})),
        ("data", "update by filter", ("POST", "/vectors/update", {"filter": {"i": {"$gte": 7}}, "setMetadata": {"late": True}})),
        ("data", "upsert", ("POST", "/vectors/upsert", {"vectors": [v(i) for i in range(30, 40)]})),
        ("catalog", "configure index", ("PATCH", "/indexes/durable", {"tags": {"team": "a"}})),
        ("catalog", "create index", ("POST", "/indexes", {**index, "name": "doomed"})),
        ("catalog", "delete index", ("DELETE", "/indexes/doomed", None)),
    ]
    for kind, label, request in plan:
        if kind == "pause":
            time.sleep(3)  # the compaction service looks every 2 s; 4+ log files are waiting
            continue
        method, route, body = request
        full = route if route.startswith("/indexes") else path + route
        status, reply = raw_request(server, method, full, body, version="2025-10")
        assert 200 <= status < 300, (label, status, reply)
        requests.append((kind, label, None))
    stop_traced(server)

    timeline = Timeline(parse(trace))
    responses = timeline.responses()
    assert len(responses) == len(requests), f"{len(responses)} responses in the trace for {len(requests)} requests"
    renames = [c for c in timeline.calls if c.name.startswith("rename") and c.result == "0"]
    wal_renames = [c for c in renames if re.search(r"/wal/\d{20}\.log$", paths(c)[-1])]
    previous_end = 0.0
    shown = None
    for (kind, label, _), response in zip(requests, responses):
        assert response.text.find('"HTTP/1.1 2') >= 0, (label, response)
        if kind == "data":
            mine = [r for r in wal_renames if previous_end <= r.start and r.end <= response.start]
            assert len(mine) == 1, f"{label}: {len(mine)} log files renamed into place before its response"
            rename = mine[0]
            temporary, final = paths(rename)[0], paths(rename)[-1]
            file_syncs = timeline.synced(lambda p: p == temporary, previous_end, rename.start)
            assert file_syncs, f"{label}: {final} was renamed before its temporary file was fsynced"
            directory = os.path.dirname(final)
            dir_syncs = timeline.synced(lambda p: p == directory, rename.end, response.start)
            assert dir_syncs, f"{label}: the response went out before the wal directory was fsynced after the rename"
            if shown is None:
                opened = next(c for c in timeline.calls if c.name == "openat" and first_path(c) == temporary)
                shown = (label, [(opened.start, f"openat {os.path.basename(temporary)} = {opened.result}"),
                                 (file_syncs[0].end, f"fsync({fd_argument(file_syncs[0])}) = 0 (file durable)"),
                                 (rename.end, f"rename → wal/{os.path.basename(final)}"),
                                 (dir_syncs[0].end, f"fsync({fd_argument(dir_syncs[0])}) = 0 (wal directory durable)"),
                                 (response.start, "response: " + response.text.split('"', 2)[1][:15])])
        elif kind == "catalog":
            syncs = timeline.synced(lambda p: p.endswith("catalog.sqlite-wal") or p.endswith("catalog.sqlite"), previous_end, response.start)
            assert syncs, f"{label}: acknowledged before the catalog's WAL was fsynced"
        previous_end = response.end

    # Compaction: the manifest moves past logs only when the segment is durable, and logs go only after that.
    manifest_renames = [c for c in renames if paths(c)[-1].endswith("/manifest")]
    segment_renames = [c for c in renames if paths(c)[-1].endswith(".seg")]
    log_unlinks = [c for c in timeline.calls if c.name.startswith("unlink") and paths(c) and paths(c)[-1].endswith(".log")]
    assert manifest_renames and segment_renames and log_unlinks, "compaction did not run during the test"
    for manifest in manifest_renames:
        segment = max((s for s in segment_renames if s.end <= manifest.start), key=lambda s: s.end)
        segments_dir = os.path.dirname(paths(segment)[-1])
        assert timeline.synced(lambda p: p == segments_dir, segment.end, manifest.start), "manifest renamed before segments/ was fsynced"
        assert timeline.synced(lambda p: p == paths(manifest)[0], segment.end, manifest.start), "manifest renamed before it was fsynced"
    for unlink in log_unlinks:
        manifest = max((m for m in manifest_renames if m.end <= unlink.start), key=lambda m: m.end, default=None)
        assert manifest is not None, f"{paths(unlink)[-1]} removed before any manifest superseded it"
        index_dir = os.path.dirname(paths(manifest)[-1])
        assert timeline.synced(lambda p: p == index_dir, manifest.end, unlink.start), "a log file was removed before the manifest's directory was fsynced"

    base = shown[1][0][0]
    writes = sum(kind != "read" for kind, _, _ in requests)
    print(f"\nfsync proof ({writes} acknowledged writes, {len(manifest_renames)} compactions, {len(log_unlinks)} folded logs removed); one write, {shown[0]}:")
    for when, event in shown[1]:
        print(f"  +{(when - base) * 1000:7.3f} ms  {event}")
