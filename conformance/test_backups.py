"""Backups and restore jobs through the official SDK (10.x speaks API 2026-07, 7.x 2025-04): create, list (per
index and per project), describe, create an index from a backup (a restore job) that answers like the source
did, describe and list restore jobs, delete; the errors Pinecone gives (404 unknown backup, 409 taken index
name, 403 for a viewer key)."""
import time

from pinecone import Pinecone, ServerlessSpec

from conftest import admin, cleanup, expect_status, raw_request

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")


def wait_ready(pc, name, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if pc.describe_index(name).status.ready:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"index {name} did not appear")


def test_backup_and_restore_through_the_sdk(pc, server, index_name):
    pc.create_index(name=index_name, dimension=3, metric="cosine", spec=SERVERLESS)
    index = pc.Index(host=pc.describe_index(index_name).host)
    index.upsert(vectors=[(f"v{i}", [float(i), 1.0, float(i % 3)], {"n": i}) for i in range(30)], namespace="ns")
    backup = pc.create_backup(index_name=index_name, backup_name=f"{index_name}-b", description="nightly")
    assert backup.source_index_name == index_name and backup.status == "Ready"
    assert backup.record_count == 30 and backup.namespace_count == 1
    index.upsert(vectors=[("late", [1.0, 1.0, 1.0])], namespace="ns")  # after the backup: not in it

    assert backup.backup_id in [b.backup_id for b in pc.list_backups(index_name=index_name).data]
    assert backup.backup_id in [b.backup_id for b in pc.list_backups().data]
    described = pc.describe_backup(backup_id=backup.backup_id)
    assert described.description == "nightly"
    from conftest import SDK_MAJOR
    if SDK_MAJOR >= 10:  # API 2026-07: the source's shape as its schema, read through the SDK's own model
        assert described.dense_dimension == 3 and backup.dense_dimension == 3, described
        assert described.schema.fields["_values"].metric == "cosine"
    else:
        assert described.dimension == 3 and described.metric == "cosine"

    restored_name = f"{index_name}-r"
    try:
        pc.create_index_from_backup(name=restored_name, backup_id=backup.backup_id, timeout=-1)
        wait_ready(pc, restored_name)
        jobs = pc.list_restore_jobs().data
        job = next(j for j in jobs if j.target_index_name == restored_name)
        assert pc.describe_restore_job(job_id=job.restore_job_id).status == "Completed"
        restored = pc.Index(host=pc.describe_index(restored_name).host)
        assert restored.describe_index_stats().total_vector_count == 30
        assert restored.fetch(ids=["v7", "late"], namespace="ns").vectors.keys() == {"v7"}
        source_ids = [m.id for m in index.query(vector=[4.0, 1.0, 1.0], top_k=5, namespace="ns", filter={"n": {"$lt": 30}}).matches]
        assert [m.id for m in restored.query(vector=[4.0, 1.0, 1.0], top_k=5, namespace="ns").matches] == source_ids

        expect_status(409, pc.create_index_from_backup, name=restored_name, backup_id=backup.backup_id, timeout=-1)
        expect_status(404, pc.describe_backup, backup_id="00000000-0000-0000-0000-000000000000")
        project = pc.describe_index(index_name).host.split("/data/")[1].split("/")[0]
        status, made = admin(server, "POST", f"/admin/projects/{project}/api-keys", {"name": "backup-viewer", "roles": ["ProjectViewer"]})
        assert status == 201, made
        viewer = Pinecone(api_key=made["value"], host=server.url)
        expect_status(403, viewer.create_backup, index_name=index_name, backup_name="nope")
        assert backup.backup_id in [b.backup_id for b in viewer.list_backups().data]  # viewers read them
    finally:
        if restored_name in [i.name for i in pc.list_indexes()]:
            pc.delete_index(restored_name)
    pc.delete_backup(backup_id=backup.backup_id)
    expect_status(404, pc.describe_backup, backup_id=backup.backup_id)


def test_a_restore_killed_midway_leaves_no_index():
    """SIGKILL while a restore job writes the new index: after the restart the job reports Failed and no index
    of that name exists (the source and its backup are intact, and a new job completes)."""
    import os
    import random
    import shutil
    import signal
    import tempfile

    from conftest import Server, new_api_key, raw_request

    root = tempfile.mkdtemp(prefix="conifer-restore-kill-")
    server = Server(os.path.join(root, "data"), new_api_key()).start()
    try:
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="big", dimension=128, metric="cosine", spec=SERVERLESS)
        index = pc.Index(host=pc.describe_index("big").host)
        rng = random.Random(3)
        for start in range(0, 30000, 500):
            index.upsert(vectors=[(f"r{i}", [rng.random() for _ in range(128)]) for i in range(start, start + 500)])
        backup = pc.create_backup(index_name="big", backup_name="big-b")
        status, started = raw_request(server, "POST", f"/backups/{backup.backup_id}/create-index", {"name": "half"})
        assert status == 202, started
        job = started["restore_job_id"]
        while raw_request(server, "GET", f"/restore-jobs/{job}")[1]["status"] == "Pending":
            pass
        state = raw_request(server, "GET", f"/restore-jobs/{job}")[1]
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        assert state["status"] == "InProgress", f"the job ended before the kill ({state}); the test needs a larger backup"

        server.start()
        pc = Pinecone(api_key=server.api_key, host=server.url)
        status, ended = raw_request(server, "GET", f"/restore-jobs/{job}")
        assert status == 200 and ended["status"] == "Failed" and "stopped" in ended["error"], ended
        assert "half" not in [i.name for i in pc.list_indexes()]
        status, again = raw_request(server, "POST", f"/backups/{backup.backup_id}/create-index", {"name": "half"})
        assert status == 202, again
        wait_ready(pc, "half", timeout=120)
        assert pc.Index(host=pc.describe_index("half").host).describe_index_stats().total_vector_count == 30000
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_backup_under_concurrent_upserts_holds_exactly_the_writes_before_it(pc, index_name):
    """Writers upsert while the backup is taken: the restored index holds every write acknowledged before the
    backup request was sent and none sent after its answer (compared by fetch)."""
    import threading

    pc.create_index(name=index_name, dimension=2, metric="cosine", spec=SERVERLESS)
    host = pc.describe_index(index_name).host
    acknowledged_before, begun_after, phase, lock = set(), set(), ["before"], threading.Lock()

    def writer(number):
        index = pc.Index(host=host)
        i = 0
        while phase[0] != "stop":
            ids = [f"w{number}-{i}-{k}" for k in range(20)]
            started_after = phase[0] == "after"
            index.upsert(vectors=[(vid, [1.0, float(k)]) for k, vid in enumerate(ids)])
            with lock:
                if phase[0] == "before":
                    acknowledged_before.update(ids)
                if started_after:
                    begun_after.update(ids)
                if len(begun_after) >= 200:
                    phase[0] = "stop"
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    while len(acknowledged_before) < 300:
        time.sleep(0.01)
    with lock:
        phase[0] = "during"
    backup = pc.create_backup(index_name=index_name, backup_name=f"{index_name}-load")
    with lock:
        phase[0] = "after"
    for thread in threads:
        thread.join(timeout=60)
    restored_name = f"{index_name}-l"
    pc.create_index_from_backup(name=restored_name, backup_id=backup.backup_id, timeout=-1)
    try:
        wait_ready(pc, restored_name)
        restored = pc.Index(host=pc.describe_index(restored_name).host)
        before, after = sorted(acknowledged_before), sorted(begun_after)
        found_before = set().union(*(restored.fetch(ids=before[i:i + 100]).vectors.keys() for i in range(0, len(before), 100)))
        found_after = set().union(*(restored.fetch(ids=after[i:i + 100]).vectors.keys() for i in range(0, len(after), 100)))
        assert found_before == acknowledged_before, f"{len(acknowledged_before - found_before)} acknowledged writes missing"
        assert not found_after, f"{len(found_after)} writes begun after the backup are in it"
        assert restored.describe_index_stats().total_vector_count == backup.record_count
    finally:
        pc.delete_index(restored_name)
        pc.delete_backup(backup_id=backup.backup_id)


def test_backup_schedules_run_on_cadence_across_a_restart_and_expire():
    """SDK 10's `pc.backup_schedules` against a server whose schedule clock runs 43,200 times faster (a day in
    2 s, `CONIFER_TEST_SCHEDULE_CLOCK`): a daily schedule takes a backup per day, named after its slot; a
    restart over a missed slot takes it once (not skipped, not doubled); backups go after their retention; a
    scheduled backup restores; update, disable and delete; 409 for a second enabled schedule, 403 for a viewer."""
    import datetime
    import os
    import shutil
    import tempfile

    import pytest

    from conftest import SDK_MAJOR, Server, new_api_key

    if SDK_MAJOR < 10:
        pytest.skip("backup schedules are API 2026-07 (SDK 10)")
    from pinecone.errors import ConflictError, ForbiddenError, NotFoundError

    scale = 43_200  # one real second is half a day
    anchor = datetime.datetime.fromtimestamp(int(time.time()), tz=datetime.timezone.utc)
    root = tempfile.mkdtemp(prefix="conifer-schedules-")
    server = Server(os.path.join(root, "data"), new_api_key(), env={"CONIFER_TEST_SCHEDULE_CLOCK": f"{int(anchor.timestamp())}:{scale}"})
    server.start()

    def slot(name):
        return datetime.datetime.strptime(name.rsplit("-", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)

    def created(backup):
        return datetime.datetime.fromisoformat(str(backup.created_at).replace("Z", "+00:00"))

    def taken(pc, schedule_id):
        return [r for r in pc.backup_schedules.iter_history(schedule_id=schedule_id) if r.status == "Ready"]

    def wait_for(condition, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError("timed out")

    try:
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="ledger", dimension=3, metric="cosine", spec=SERVERLESS)
        index = pc.Index(host=pc.describe_index("ledger").host)
        index.upsert(vectors=[(f"v{i}", [float(i), 1.0, 2.0]) for i in range(12)])

        schedule = pc.backup_schedules.create(index_name="ledger", name="nightly", frequency="daily", retention_days=3)
        assert schedule.frequency == "daily" and schedule.retention_expire_after_days == 3 and schedule.enabled
        assert schedule.schedule_type == "time-based" and schedule.next_scheduled_run - schedule.created_at == datetime.timedelta(days=1)
        with pytest.raises(ConflictError):
            pc.backup_schedules.create(index_name="ledger", name="second", frequency="weekly", retention_days=3)
        project = pc.describe_index("ledger").host.split("/data/")[1].split("/")[0]
        status, made = admin(server, "POST", f"/admin/projects/{project}/api-keys", {"name": "schedule-viewer", "roles": ["ProjectViewer"]})
        assert status == 201, made
        viewer = Pinecone(api_key=made["value"], host=server.url)
        with pytest.raises(ForbiddenError):
            viewer.backup_schedules.update(schedule_id=schedule.schedule_id, enabled=False)
        assert [s.schedule_id for s in viewer.backup_schedules.iter_schedules(index_name="ledger")] == [schedule.schedule_id]

        planned = list(pc.backup_schedules.iter_history(schedule_id=schedule.schedule_id))
        assert [r.status for r in planned] == ["Initializing"] and slot(planned[0].name) == schedule.next_scheduled_run, planned
        assert planned[0].schema.fields["_values"].dimension == 3 and planned[0].scheduled_execution_at is not None, planned

        # On cadence: one backup a day, each named after its slot, a day apart.
        before = wait_for(lambda: (rows := taken(pc, schedule.schedule_id)) and len(rows) >= 2 and rows)
        assert all(b.record_count == 12 for b in before)
        slots = sorted(slot(b.name) for b in before)
        assert all(later - earlier == datetime.timedelta(days=1) for earlier, later in zip(slots, slots[1:])), slots

        # A restart over missed slots (3 s stopped: a day and a half): the one backup taken for them is created
        # after the start for a slot before it (not skipped, not doubled); later runs are for slots after it.
        assert server.stop() == 0
        time.sleep(3)
        restart = anchor + datetime.timedelta(seconds=(time.time() - anchor.timestamp()) * scale)
        server.start()
        pc = Pinecone(api_key=server.api_key, host=server.url)
        after = wait_for(lambda: (rows := taken(pc, schedule.schedule_id)) and max(slot(b.name) for b in rows) > restart and rows)
        assert len({b.name for b in after}) == len(after), [b.name for b in after]
        caught_up = [b for b in after if created(b) >= restart and slot(b.name) < restart]
        assert len(caught_up) == 1, [(b.name, b.created_at) for b in after]
        assert all(slot(b.name) > restart for b in after if created(b) >= restart and b is not caught_up[0])

        # Retention: the first backups go three days after they were taken.
        first = min(before, key=lambda b: slot(b.name))
        wait_for(lambda: first.backup_id not in [b.backup_id for b in taken(pc, schedule.schedule_id)])
        expect_status(404, pc.describe_backup, backup_id=first.backup_id)

        # A scheduled backup is an ordinary one: it restores.
        latest = max(taken(pc, schedule.schedule_id), key=lambda b: slot(b.name))
        pc.create_index_from_backup(name="ledger-restored", backup_id=latest.backup_id, timeout=-1)
        wait_ready(pc, "ledger-restored")
        assert pc.Index(host=pc.describe_index("ledger-restored").host).describe_index_stats().total_vector_count == 12

        paused = pc.backup_schedules.update(schedule_id=schedule.schedule_id, enabled=False, retention_days=30)
        assert not paused.enabled and paused.next_scheduled_run is None and paused.retention_expire_after_days == 30
        count = len(taken(pc, schedule.schedule_id))
        time.sleep(2.5)
        assert len(taken(pc, schedule.schedule_id)) == count, "a disabled schedule takes nothing"
        weekly = pc.backup_schedules.update(schedule_id=schedule.schedule_id, enabled=True, frequency="weekly")
        assert weekly.enabled and weekly.frequency == "weekly" and pc.backup_schedules.describe(schedule_id=schedule.schedule_id).next_scheduled_run
        pc.backup_schedules.delete(schedule_id=schedule.schedule_id)
        with pytest.raises(NotFoundError):
            pc.backup_schedules.describe(schedule_id=schedule.schedule_id)
        assert pc.describe_backup(backup_id=latest.backup_id).name == latest.name  # its backups stay
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_collections_through_the_sdk(pc, index_name):
    """Collections of a pod-based index: SDK 10's `pc.collections` (create, list, describe, delete) and SDK 7's
    `create_collection`/`list_collections`/`describe_collection`/`delete_collection`, and in SDK 7 (API 2025-04;
    the 2026-07 API has no `source_collection`) an index created from the collection answers like the source."""
    from pinecone import PodSpec

    from conftest import SDK_MAJOR

    pc.create_index(name=index_name, dimension=3, metric="cosine", spec=PodSpec(environment="us-east1-gcp", pod_type="p1.x1"))
    index = pc.Index(host=pc.describe_index(index_name).host)
    index.upsert(vectors=[(f"v{i}", [float(i), 1.0, float(i % 3)], {"n": i}) for i in range(25)], namespace="ns")
    collection, seeded = f"{index_name}-c", f"{index_name}-s"
    try:
        if SDK_MAJOR >= 10:
            made = pc.collections.create(name=collection, source=index_name)
            assert made.name == collection and made.status == "Ready" and made.environment == "us-east1-gcp"
            assert made.dimension == 3 and made.vector_count == 25 and made.size > 0
            assert collection in [c.name for c in pc.collections.list()]
            assert pc.collections.describe(collection).vector_count == 25
            expect_status(409, pc.collections.create, name=collection, source=index_name)
            expect_status(404, pc.collections.describe, "no-such-collection")
            pc.collections.delete(collection)
            expect_status(404, pc.collections.describe, collection)
            return
        pc.create_collection(name=collection, source=index_name)  # SDK 7 answers None
        made = pc.describe_collection(collection)  # a dict in SDK 7
        assert made["name"] == collection and made["status"] == "Ready" and made["vector_count"] == 25 and made["dimension"] == 3
        assert collection in pc.list_collections().names()
        index.upsert(vectors=[("late", [1.0, 1.0, 1.0])], namespace="ns")  # after the collection: not in it
        pc.create_index(name=seeded, dimension=3, metric="cosine", spec=PodSpec(environment="us-east1-gcp", source_collection=collection))
        copy = pc.Index(host=pc.describe_index(seeded).host)
        assert copy.describe_index_stats().total_vector_count == 25
        assert copy.fetch(ids=["v4", "late"], namespace="ns").vectors.keys() == {"v4"}
        query = dict(vector=[4.0, 1.0, 1.0], top_k=5, namespace="ns", filter={"n": {"$lt": 25}})
        assert [m.id for m in copy.query(**query).matches] == [m.id for m in index.query(**query).matches]
        expect_status(404, pc.create_index, name=f"{index_name}-x", dimension=3, metric="cosine",
                      spec=PodSpec(environment="us-east1-gcp", source_collection="no-such-collection"))
        pc.delete_collection(collection)
        expect_status(404, pc.describe_collection, collection)
    finally:
        cleanup(pc, seeded)
        for name in [c["name"] if isinstance(c, dict) else c.name for c in (pc.collections.list() if SDK_MAJOR >= 10 else pc.list_collections())]:
            if name == collection:
                (pc.collections.delete if SDK_MAJOR >= 10 else pc.delete_collection)(name)


def test_backups_in_an_s3_store():
    """`--backup-store s3://bucket/prefix` against moto's S3 (loopback): a backup is one object under the prefix
    (ciphertext: no record id in it) and nothing stays in the local directory; it restores into an index that
    answers like the source; a flipped byte in the object fails the restore job with a clear message and leaves
    no index; deleting the backup deletes the object."""
    import os
    import shutil
    import tempfile

    from conftest import Server, new_api_key
    from test_audit_export import AWS_ENV, Moto

    moto = Moto().start()
    moto.s3.create_bucket(Bucket="backup-bucket")
    root = tempfile.mkdtemp(prefix="conifer-s3-backups-")
    env = dict(AWS_ENV, AWS_ENDPOINT_URL=moto.url)
    server = Server(os.path.join(root, "data"), new_api_key(), "--backup-store", "s3://backup-bucket/conifer/prod", env=env).start()

    def objects():
        listed = moto.s3.list_objects_v2(Bucket="backup-bucket", Prefix="conifer/prod/").get("Contents", [])
        return {item["Key"]: moto.s3.get_object(Bucket="backup-bucket", Key=item["Key"])["Body"].read() for item in listed}

    try:
        pc = Pinecone(api_key=server.api_key, host=server.url)
        pc.create_index(name="stored", dimension=3, metric="cosine", spec=SERVERLESS)
        index = pc.Index(host=pc.describe_index("stored").host)
        index.upsert(vectors=[(f"s3-record-{i}", [float(i), 1.0, float(i % 3)], {"n": i}) for i in range(40)], namespace="ns")
        backup = pc.create_backup(index_name="stored", backup_name="offsite")
        stored = objects()
        assert list(stored) == [f"conifer/prod/{backup.backup_id}.backup"], list(stored)
        assert b"s3-record-" not in stored[f"conifer/prod/{backup.backup_id}.backup"], "the object is sealed"
        local = os.path.join(root, "data", "backups")
        assert not [name for name in (os.listdir(local) if os.path.isdir(local) else []) if name.endswith(".backup")]

        pc.create_index_from_backup(name="stored-restored", backup_id=backup.backup_id, timeout=-1)
        wait_ready(pc, "stored-restored")
        restored = pc.Index(host=pc.describe_index("stored-restored").host)
        query = dict(vector=[5.0, 1.0, 1.0], top_k=5, namespace="ns")
        assert [m.id for m in restored.query(**query).matches] == [m.id for m in index.query(**query).matches]
        assert restored.describe_index_stats().total_vector_count == 40

        # One flipped byte in the object: the job fails, saying so, and no index appears.
        key = f"conifer/prod/{backup.backup_id}.backup"
        damaged = bytearray(stored[key])
        damaged[len(damaged) // 2] ^= 0x01
        moto.s3.put_object(Bucket="backup-bucket", Key=key, Body=bytes(damaged))
        status, started = raw_request(server, "POST", f"/backups/{backup.backup_id}/create-index", {"name": "from-damaged"})
        assert status == 202, started
        deadline = time.time() + 30
        while (job := raw_request(server, "GET", f"/restore-jobs/{started['restore_job_id']}")[1])["status"] not in ("Completed", "Failed"):
            assert time.time() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "Failed" and "cannot be read" in job["error"], job
        assert "from-damaged" not in [i.name for i in pc.list_indexes()]

        pc.delete_backup(backup_id=backup.backup_id)
        assert objects() == {}

        # The store unreachable: 503 naming it, and no backup recorded.
        moto.stop()
        status, refused = raw_request(server, "POST", "/indexes/stored/backups", {"name": "unreachable"})
        assert status == 503 and "backup store s3://backup-bucket" in refused["error"]["message"], (status, refused)
        assert pc.list_backups(index_name="stored").data == []
    finally:
        server.stop()
        moto.stop()
        shutil.rmtree(root, ignore_errors=True)
