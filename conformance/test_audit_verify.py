"""`conifer audit verify --data-dir DIR`, the operator's check of the audit log's hash chain: with the server
stopped, an untouched log verifies (exit 0); a deleted event and a rewritten one are each reported at their
position (exit 1); the server logs the break at start too."""
import os
import shutil
import sqlite3
import subprocess
import tempfile

from conftest import Server, admin, conifer_binary, new_api_key


def verify(data_dir):
    return subprocess.run([conifer_binary(), "audit", "verify", "--data-dir", data_dir], capture_output=True, text=True, timeout=120)


def test_verify_reports_a_deleted_and_a_rewritten_event():
    root = tempfile.mkdtemp(prefix="conifer-audit-verify-")
    data = os.path.join(root, "data")
    server = Server(data, new_api_key()).start()
    try:
        for name in ("alpha", "beta", "gamma", "delta"):
            assert admin(server, "POST", "/admin/projects", {"name": name})[0] in (200, 201)
    finally:
        server.stop()
    catalog = os.path.join(data, "catalog.sqlite")
    try:
        intact = verify(data)
        assert intact.returncode == 0 and "holds" in intact.stdout, (intact.stdout, intact.stderr)
        with sqlite3.connect(catalog) as db:
            seqs = [row[0] for row in db.execute("SELECT seq FROM audit_event ORDER BY seq")]
            assert len(seqs) >= 5, seqs
            original = db.execute("SELECT action FROM audit_event WHERE seq = ?", (seqs[2],)).fetchone()[0]
            db.execute("UPDATE audit_event SET action = 'login' WHERE seq = ?", (seqs[2],))
        rewritten = verify(data)
        assert rewritten.returncode == 1 and f"audit event {seqs[2]}: altered" in rewritten.stderr, (rewritten.stdout, rewritten.stderr)
        with sqlite3.connect(catalog) as db:
            db.execute("UPDATE audit_event SET action = ? WHERE seq = ?", (original, seqs[2]))
            db.execute("DELETE FROM audit_event WHERE seq = ?", (seqs[1],))
        deleted = verify(data)
        assert deleted.returncode == 1 and f"audit event {seqs[1]}: missing" in deleted.stderr, (deleted.stdout, deleted.stderr)
        # The server starts (it serves) and says so in its log at the critical level.
        server.start()
        server.stop()
        with open(server.log_path) as log:
            assert "the audit log was tampered with" in log.read()
    finally:
        shutil.rmtree(root, ignore_errors=True)
