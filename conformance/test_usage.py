"""The usage ledger and the Starter plan's monthly unit quotas, end to end: the units a real server metered are
in its catalog's ledger (`usage_ledger`, by SKU) once it has stopped, per index and hour; and a Starter organization whose
month-to-date units (read from that ledger at start) reach the limit has its reads refused with 403
QUOTA_EXCEEDED while its writes go on."""
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from datetime import datetime, timezone

from pinecone import Pinecone, ServerlessSpec

from conftest import Server, conifer_binary, expect_status, new_api_key


def ledger(data_dir):
    """(organization, index, hour, read units, write units) per index and hour, from the ledger's unit SKUs."""
    with sqlite3.connect(os.path.join(data_dir, "catalog.sqlite")) as db:
        return db.execute(
            """SELECT organization_id, resource_name, hour,
                   SUM(CASE sku WHEN 'serverless_read_units' THEN quantity ELSE 0 END),
                   SUM(CASE sku WHEN 'serverless_write_units' THEN quantity ELSE 0 END)
               FROM usage_ledger WHERE sku IN ('serverless_read_units', 'serverless_write_units')
               GROUP BY resource_id, hour ORDER BY hour"""
        ).fetchall()


def test_units_reach_the_ledger_and_a_starter_month_stops_reads():
    root = tempfile.mkdtemp(prefix="conifer-usage-")
    data_dir = os.path.join(root, "data")
    server = Server(data_dir, new_api_key()).start()
    try:
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="metered", dimension=4, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
        index = pc.Index(host=pc.describe_index("metered").host)
        index.upsert(vectors=[("a", [1.0, 0.0, 0.0, 0.0])])
        for _ in range(4):
            index.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=1)
        index.fetch(ids=["a"])
        before = datetime.now(timezone.utc).timestamp()
        assert server.stop() == 0

        rows = ledger(data_dir)
        assert [(name, reads, writes) for _, name, _, reads, writes in rows] == [("metered", 4 * 0.25 + 1, 5.0)], rows
        organization, _, hour, _, _ = rows[0]
        assert hour % 3600 == 0 and before - 3600 <= hour <= before, (hour, before)

        # Earlier this month the organization used nearly all a Starter month's read units.
        with sqlite3.connect(os.path.join(data_dir, "catalog.sqlite")) as db:
            db.execute(
                "INSERT INTO usage_ledger (resource_id, sku, hour, organization_id, project_id, resource_name, region, quantity)"
                " VALUES (?, 'serverless_read_units', ?, ?, ?, ?, 'us-east-1', ?)",
                (str(uuid.uuid4()), hour, organization, str(uuid.uuid4()), "earlier", 999_997.5),
            )
        plan = subprocess.run([conifer_binary(), "org", "plan", "set", "Starter", "--data-dir", data_dir], capture_output=True, text=True, timeout=60)
        assert plan.returncode == 0, plan.stderr

        server.start()  # on a new port
        pc = Pinecone(api_key=server.api_key, host=server.url)
        index = pc.Index(host=pc.describe_index("metered").host)
        index.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=1)  # 999,999.75 of 1,000,000
        index.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=1)  # 1,000,000: the month's read units are used
        error = expect_status(403, index.query, vector=[1.0, 0.0, 0.0, 0.0], top_k=1)
        assert "read units" in str(error), error
        expect_status(403, index.fetch, ids=["a"])
        index.upsert(vectors=[("b", [0.0, 1.0, 0.0, 0.0])])  # writes have their own quota
        assert index.describe_index_stats().total_vector_count == 2
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
