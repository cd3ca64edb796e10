"""Customer-managed keys (CMEK) against a real KMS-speaking server: moto's server mode, started here on loopback in
its strict mode (SigV4 and IAM policies checked). Conifer's own AWS user may only assume roles; the customer's role
may use the KMS key. Covers forced CMEK, an index whose data key KMS makes and unwraps (through the role, with and
without an external id), revocation stopping reads and writes within the cache window and restoring them with
nothing lost, a restart that unwraps through KMS, and the key rules (one, immutable, deleted only when empty).

moto 5.2.5 keeps serving GenerateDataKey and Decrypt under a disabled key (checked here, so a moto that starts
refusing shows up); revocation is therefore shown with an explicit Deny on the role, which moto enforces.
"""
import json
import os
import secrets
import shutil
import tempfile
import time

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import Server, new_api_key, raw_request, status_of

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")
from test_audit_export import Moto, admin  # noqa: E402

CACHE_SECONDS = 2
VECTORS = [(f"cmek-{i}", [float(i), 1.0, 2.0, 3.0], {"n": i, "tag": "kms-canary-7f3a"}) for i in range(20)]
ALLOW_KMS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
DENY_KMS = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}


@pytest.fixture
def aws(monkeypatch):
    """moto in strict mode: an admin user for the test (the customer), a `conifer` user that may only assume roles,
    two roles that may use KMS (one requiring an external id), and a KMS key. Conifer gets the `conifer` user."""
    moto = Moto(env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    moto.start()  # 1: its bucket
    bootstrap = boto3.client("iam", endpoint_url=moto.url, aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    bootstrap.create_user(UserName="customer")  # 2
    customer = bootstrap.create_access_key(UserName="customer")["AccessKey"]  # 3
    bootstrap.put_user_policy(UserName="customer", PolicyName="all", PolicyDocument=json.dumps(  # 4
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))

    def client(service):
        return boto3.client(service, endpoint_url=moto.url, aws_access_key_id=customer["AccessKeyId"],
                            aws_secret_access_key=customer["SecretAccessKey"], region_name="us-east-1")

    iam, kms = client("iam"), client("kms")
    iam.create_user(UserName="conifer")
    conifer = iam.create_access_key(UserName="conifer")["AccessKey"]
    iam.put_user_policy(UserName="conifer", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    with_id = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                                                        "Condition": {"StringEquals": {"sts:ExternalId": "conifer-ext-7"}}}]}
    roles = {}
    for name, policy in [("cmek", trust), ("cmek-external", with_id)]:
        roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="kms", PolicyDocument=json.dumps(ALLOW_KMS))
    key = kms.create_key(Description="conifer cmek")["KeyMetadata"]
    for name, value in {"AWS_ACCESS_KEY_ID": conifer["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": conifer["SecretAccessKey"],
                        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto.url, "CONIFER_DEK_CACHE_SECONDS": str(CACHE_SECONDS)}.items():
        monkeypatch.setenv(name, value)
    yield {"moto": moto, "iam": iam, "kms": kms, "roles": roles, "key": key, "conifer": conifer}
    moto.stop()


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="conifer-cmek-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def project_with_key(server, name, key_body, force=True):
    """A project (forced CMEK by default) with an API key; the CMEK key is added when `key_body` is given."""
    status, project = admin(server, "POST", "/admin/projects", {"name": name, "force_encryption_with_cmek": force})
    assert status == 200, project
    status, created = admin(server, "POST", f"/admin/projects/{project['id']}/api-keys", {"name": "editor"})
    assert status == 201, created
    cmek = None
    if key_body:
        status, cmek = admin(server, "POST", f"/admin/projects/{project['id']}/cmek-keys", key_body)
        assert status == 201, cmek
    return project["id"], created["value"], cmek


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return time.time()
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def serves(index):
    try:
        index.query(vector=[1.0, 1.0, 2.0, 3.0], top_k=3, include_metadata=True)
        index.upsert(vectors=[("probe", [9.0, 9.0, 9.0, 9.0])])
        return True
    except Exception:
        return False


def test_cmek_index_through_kms_revoked_restored_and_restarted(aws, root):
    data_dir = os.path.join(root, "data")
    server = Server(data_dir, new_api_key()).start()
    try:
        key_arn = aws["key"]["Arn"]
        project, api_key, _ = project_with_key(server, "vault", None)
        pc = Pinecone(api_key=api_key, host=server.url)
        spec = ServerlessSpec(cloud="aws", region="us-east-1")

        # Forced CMEK: no index until the project has its key.
        with pytest.raises(Exception) as refused:
            pc.create_index(name="secrets", dimension=4, metric="euclidean", spec=spec)
        assert status_of(refused.value) == 412, refused.value
        status, cmek = admin(server, "POST", f"/admin/projects/{project}/cmek-keys",
                             {"name": "prod", "role_arn": aws["roles"]["cmek"], "key_arn": key_arn})
        assert status == 201, cmek

        pc.create_index(name="secrets", dimension=4, metric="euclidean", spec=spec)
        status, described = raw_request(server, "GET", "/indexes/secrets", api_key=api_key, version="2026-07")
        assert status == 200 and described["cmek_id"] == cmek["id"], described
        index = pc.Index(host=pc.describe_index("secrets").host)
        index.upsert(vectors=VECTORS)
        assert index.fetch(ids=["cmek-3"]).vectors["cmek-3"].metadata["tag"] == "kms-canary-7f3a"

        # The data key is stored only as KMS's ciphertext, bound to the key ARN and the index.
        indexes = os.path.join(data_dir, "indexes")
        stored = [json.load(open(os.path.join(indexes, name, "key"))) for name in os.listdir(indexes) if os.path.exists(os.path.join(indexes, name, "key"))]
        assert [key["wrappedBy"] for key in stored] == ["kms:" + key_arn], stored
        # Conifer's own user cannot use the key: every KMS call went through the role.
        own = boto3.client("kms", endpoint_url=aws["moto"].url, aws_access_key_id=aws["conifer"]["AccessKeyId"],
                           aws_secret_access_key=aws["conifer"]["SecretAccessKey"], region_name="us-east-1")
        with pytest.raises(Exception):
            own.generate_data_key(KeyId=key_arn, KeySpec="AES_256")

        # moto does not refuse a disabled key (if it starts to, this shows it and the Deny below is redundant).
        aws["kms"].disable_key(KeyId=aws["key"]["KeyId"])
        assert serves(index), "moto 5.2.5 serves a disabled key; revocation is shown with a Deny on the role"
        aws["kms"].enable_key(KeyId=aws["key"]["KeyId"])

        # Revoked: reads and writes stop within the cache window (plus one background tick), with a clear error.
        revoked_at = time.time()
        aws["iam"].put_role_policy(RoleName="cmek", PolicyName="deny", PolicyDocument=json.dumps(DENY_KMS))
        stopped_at = wait_for(lambda: not serves(index), CACHE_SECONDS + 6, "reads and writes fail after revocation")
        print(f"revocation took effect after {stopped_at - revoked_at:.1f} s (cache {CACHE_SECONDS} s)")
        status, reply = raw_request(server, "GET", f"/data/{project}/secrets/vectors/fetch?ids=cmek-1", api_key=api_key)
        assert status in (412, 503) and key_arn in json.dumps(reply), (status, reply)
        # The rest of the server is unaffected.
        assert raw_request(server, "GET", "/indexes", api_key=api_key)[0] == 200

        # Restored: service resumes, nothing is lost.
        aws["iam"].delete_role_policy(RoleName="cmek", PolicyName="deny")
        wait_for(lambda: serves(index), CACHE_SECONDS + 6, "reads and writes resume after access is restored")
        fetched = index.fetch(ids=[v[0] for v in VECTORS]).vectors
        assert {k: v.metadata["n"] for k, v in fetched.items()} == {v[0]: v[2]["n"] for v in VECTORS}

        # A restart unwraps the key through KMS again; revoked at start, the index refuses until restored.
        server.stop()
        aws["iam"].put_role_policy(RoleName="cmek", PolicyName="deny", PolicyDocument=json.dumps(DENY_KMS))
        server.start()
        pc = Pinecone(api_key=api_key, host=server.url)
        index = pc.Index(host=pc.describe_index("secrets").host)
        assert not serves(index)
        aws["iam"].delete_role_policy(RoleName="cmek", PolicyName="deny")
        wait_for(lambda: serves(index), CACHE_SECONDS + 6, "a restarted server serves once the key is usable")
        assert len(index.fetch(ids=[v[0] for v in VECTORS]).vectors) == len(VECTORS)

        # The rules: one key, immutable, deleted only once the project has no index.
        status, reply = admin(server, "POST", f"/admin/projects/{project}/cmek-keys", {"name": "other", "key_arn": key_arn, "role_arn": aws["roles"]["cmek"]})
        assert status == 409, reply
        status, reply = admin(server, "DELETE", f"/admin/projects/{project}/cmek-keys/{cmek['id']}")
        assert status == 412, reply
        pc.delete_index("secrets")
        status, reply = admin(server, "DELETE", f"/admin/projects/{project}/cmek-keys/{cmek['id']}")
        assert status == 202, reply
    finally:
        server.stop()
    # Nothing of the records is readable under the data directory.
    for folder, _, names in os.walk(data_dir):
        for name in names:
            with open(os.path.join(folder, name), "rb") as handle:
                assert b"kms-canary-7f3a" not in handle.read(), os.path.join(folder, name)


def test_cmek_role_with_external_id_and_without_role(aws, root):
    key_arn = aws["key"]["Arn"]
    # The operator lets this one key go without a role (the server's own credentials); no other key may.
    server = Server(os.path.join(root, "data"), new_api_key(), "--cmek-server-credential-keys", key_arn).start()
    try:
        spec = ServerlessSpec(cloud="aws", region="us-east-1")
        for name, body, works in [
            # The role whose trust policy asks for the external id, given it.
            ("external", {"name": "ext", "role_arn": aws["roles"]["cmek-external"], "key_arn": key_arn, "external_id": "conifer-ext-7"}, True),
            # The same role with another external id: STS refuses to assume it (so the id is really sent).
            ("wrong-external", {"name": "wrong", "role_arn": aws["roles"]["cmek-external"], "key_arn": key_arn, "external_id": "not-the-one"}, False),
            # No role, on the key the operator allows: Conifer's own credentials, which the key's IAM policy does not
            # allow — the creation is refused with KMS's answer and leaves no index.
            ("direct", {"name": "direct", "key_arn": key_arn}, False),
        ]:
            project, api_key, cmek = project_with_key(server, name, body)
            status, listed = admin(server, "GET", f"/admin/projects/{project}/cmek-keys")
            assert status == 200 and [k["id"] for k in listed["data"]] == [cmek["id"]] and "external_id" not in listed["data"][0], listed
            pc = Pinecone(api_key=api_key, host=server.url)
            if works:
                pc.create_index(name="kept", dimension=4, metric="euclidean", spec=spec)
                index = pc.Index(host=pc.describe_index("kept").host)
                index.upsert(vectors=VECTORS)
                assert index.fetch(ids=["cmek-5"]).vectors["cmek-5"].metadata["n"] == 5
            else:
                with pytest.raises(Exception) as refused:
                    pc.create_index(name="kept", dimension=4, metric="euclidean", spec=spec)
                assert status_of(refused.value) == 412 and "AccessDenied" in str(refused.value), refused.value
                assert [i.name for i in pc.list_indexes()] == []
        # Any other key without a role is refused at once: the server's own access is not the tenant's to use.
        status, project = admin(server, "POST", "/admin/projects", {"name": "unlisted"})
        other_key = aws["kms"].create_key(Description="another")["KeyMetadata"]["Arn"]
        status, reply = admin(server, "POST", f"/admin/projects/{project['id']}/cmek-keys", {"name": "k", "key_arn": other_key})
        assert status == 400 and "role_arn is required" in reply["error"]["message"], reply
    finally:
        server.stop()
