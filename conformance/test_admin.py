"""Admin API conformance with SDK 10.2.0's `Admin` class: OAuth token, projects, API keys with each role,
service accounts; then each created key used with `Pinecone(...)`, including isolation between projects.
(SDK 7.x hard-codes Pinecone's cloud URLs for the Admin API, so this runs under 10.x only.)"""
import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import SDK_MAJOR, expect_status, raw_request

pytestmark = pytest.mark.skipif(SDK_MAJOR < 10, reason="SDK 7.x cannot point its Admin API at another host")

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")


def admin_for(server, client_id=None, client_secret=None):
    from pinecone import Admin

    return Admin(
        client_id=client_id or server.client_id, client_secret=client_secret or server.client_secret,
        host=server.url, oauth_url=f"{server.url}/oauth/token",
    )


def roles_of(key):
    return sorted(getattr(r, "value", r) for r in key.roles)


def test_projects_and_keys_end_to_end(server):
    admin = admin_for(server)
    assert "default" in [p.name for p in admin.projects.list()]
    first = admin.projects.create(name="conf-a", max_pods=1)
    second = admin.projects.create(name="conf-b")
    assert first.max_pods == 1 and not first.force_encryption_with_cmek
    assert admin.projects.describe(project_id=first.id).name == "conf-a"
    admin.projects.update(project_id=second.id, name="conf-b2")
    assert admin.projects.describe(project_id=second.id).name == "conf-b2"

    editor_a = admin.api_keys.create(project_id=first.id, name="editor", roles=["ProjectEditor"])
    editor_b = admin.api_keys.create(project_id=second.id, name="editor", roles=["ProjectEditor"])
    assert editor_a.value != editor_b.value
    assert roles_of(admin.api_keys.describe(api_key_id=editor_a.key.id)) == ["ProjectEditor"]

    # Isolation: the same index name in both projects, each key sees only its own.
    pa = Pinecone(api_key=editor_a.value, host=server.url)
    pb = Pinecone(api_key=editor_b.value, host=server.url)
    pa.create_index(name="shared", dimension=2, metric="cosine", spec=SERVERLESS)
    pb.create_index(name="shared", dimension=5, metric="cosine", spec=SERVERLESS)
    assert pa.describe_index("shared").dimension == 2
    assert pb.describe_index("shared").dimension == 5
    pa.Index(name="shared").upsert(vectors=[("only-in-a", [1.0, 0.0])])
    assert pb.Index(name="shared").fetch(ids=["only-in-a"]).vectors == {}
    pa.create_index(name="a-only", dimension=2, metric="cosine", spec=SERVERLESS)
    expect_status(404, pb.describe_index, "a-only")
    assert "a-only" not in [i.name for i in pb.list_indexes()]

    # Each role can do what Pinecone says and nothing more.
    index_a = pa.Index(name="shared")
    checks = {
        "ProjectViewer": {"list": True, "create": False, "query": True, "upsert": False},
        "ControlPlaneEditor": {"list": True, "create": True, "query": False, "upsert": False},
        "ControlPlaneViewer": {"list": True, "create": False, "query": False, "upsert": False},
        "DataPlaneEditor": {"list": False, "create": False, "query": True, "upsert": True},
        "DataPlaneViewer": {"list": False, "create": False, "query": True, "upsert": False},
    }
    host = pa.describe_index("shared").host
    for role, allowed in checks.items():
        key = admin.api_keys.create(project_id=first.id, name=role.lower(), roles=[role])
        assert roles_of(key.key) == [role]
        pc = Pinecone(api_key=key.value, host=server.url)
        index = pc.Index(host=host)
        attempts = {
            "list": lambda: pc.list_indexes(),
            "create": lambda: pc.create_index(name=f"by-{role.lower()}", dimension=2, metric="cosine", spec=SERVERLESS),
            "query": lambda: index.query(vector=[1.0, 0.0], top_k=1),
            "upsert": lambda: index.upsert(vectors=[(f"by-{role.lower()}", [0.0, 1.0])]),
        }
        for action, attempt in attempts.items():
            if allowed[action]:
                attempt()
            else:
                expect_status(403, attempt)
        admin.api_keys.delete(api_key_id=key.key.id)
        expect_status(401, pc.list_indexes)
    assert sorted(index_a.fetch(ids=["by-dataplaneeditor", "by-projectviewer"]).vectors) == ["by-dataplaneeditor"]

    admin.api_keys.update(api_key_id=editor_b.key.id, roles=["ProjectViewer"])
    expect_status(403, pb.create_index, name="denied", dimension=2, metric="cosine", spec=SERVERLESS)
    assert [k.name for k in admin.api_keys.list(project_id=second.id)] == ["editor"]

    expect_status(412, admin.projects.delete, project_id=first.id)
    for name in ("shared", "a-only", "by-controlplaneeditor"):
        pa.delete_index(name)
    admin.projects.delete(project_id=first.id)
    expect_status(404, admin.projects.describe, project_id=first.id)
    expect_status(401, pa.list_indexes)


def test_service_accounts_and_tokens(server):
    admin = admin_for(server)
    created = admin.service_accounts.create(name="robot", role_bindings=[{"resource_type": "organization", "role": "OrgMember"}])
    account = created.service_account
    robot = admin_for(server, account.client_id, created.client_secret)
    project = robot.projects.create(name="robot-project")
    assert [p.name for p in robot.projects.list()] == ["robot-project"]
    expect_status(403, lambda: list(robot.service_accounts.list()))

    renamed = admin.service_accounts.update(service_account_id=account.id, name="robot-2")
    assert renamed.name == "robot-2"
    assert "robot-2" in [a.name for a in admin.service_accounts.list()]
    rotated = admin.service_accounts.rotate_secret(service_account_id=account.id)
    # The old secret no longer gets a token: the token endpoint answers 401.
    expect_status(401, lambda: admin_for(server, account.client_id, created.client_secret).projects.list())
    robot = admin_for(server, account.client_id, rotated.client_secret)
    assert [p.name for p in robot.projects.list()] == ["robot-project"]
    admin.service_accounts.delete(service_account_id=account.id)
    expect_status(401, lambda: admin_for(server, account.client_id, rotated.client_secret).projects.list())
    admin.projects.delete(project_id=project.id)


def test_wrong_client_secret_is_refused(server):
    expect_status(401, lambda: admin_for(server, server.client_id, "wrong-secret-0123456789abcdef").projects.list())


def test_role_bindings_invites_and_users(server):
    admin = admin_for(server)
    project = admin.projects.create(name="people")
    created = admin.service_accounts.create(name="helper", role_bindings=[{"resource_type": "organization", "role": "OrgMember"}])
    helper_id = created.service_account.id
    helper = admin_for(server, created.service_account.client_id, created.client_secret)
    expect_status(404, helper.projects.describe, project_id=project.id)

    binding = admin.role_bindings.create(
        principal_type="service_account", principal_id=helper_id, resource_type="project", resource_id=project.id, role="ProjectMember"
    )
    assert binding.role == "ProjectMember" and binding.resource_id == project.id
    assert helper.projects.describe(project_id=project.id).name == "people"
    assert admin.role_bindings.describe(role_binding_id=binding.id).principal_id == helper_id
    listed = list(admin.role_bindings.list(principal_type="service_account", principal_id=helper_id))
    assert sorted(b.role for b in listed) == ["OrgMember", "ProjectMember"]
    admin.role_bindings.delete(role_binding_id=binding.id)
    expect_status(404, helper.projects.describe, project_id=project.id)

    invite = admin.invites.create(
        email="newhire@example.com",
        role_bindings=[{"resource_type": "organization", "role": "OrgMember"}, {"resource_type": "project", "resource_id": project.id, "role": "ProjectMember"}],
    )
    assert invite.status == "pending" and invite.email == "newhire@example.com"
    assert [i.email for i in admin.invites.list()] == ["newhire@example.com"]
    # Conifer sends no email: the inviter gets the one-time token from a resend (or the create) answer.
    token = admin_token(server)
    status, resent = raw_request(server, "POST", f"/admin/invites/{invite.id}/resend", bearer=token)
    assert status == 200
    status, user = raw_request(server, "POST", "/oauth/accept-invite", {"token": resent["token"], "password": "a long enough password"})
    assert status == 200
    assert admin.invites.describe(invite_id=invite.id).status == "processed"
    assert [u.email for u in admin.users.list()] == ["newhire@example.com"]
    assert admin.users.describe(user_id=user["id"]).email == "newhire@example.com"
    status, login = raw_request(server, "POST", "/oauth/token", {"grant_type": "password", "username": "newhire@example.com", "password": "a long enough password"})
    assert status == 200
    status, seen = raw_request(server, "GET", f"/admin/projects/{project.id}", bearer=login["access_token"])
    assert status == 200 and seen["name"] == "people"
    admin.users.delete(user_id=user["id"])
    assert list(admin.users.list()) == []
    stale = admin.invites.create(email="never@example.com", role_bindings=[{"resource_type": "organization", "role": "OrgMember"}])
    admin.invites.delete(invite_id=stale.id)
    expect_status(404, admin.invites.describe, invite_id=stale.id)
    admin.service_accounts.delete(service_account_id=helper_id)
    admin.projects.delete(project_id=project.id)


def admin_token(server):
    _, reply = raw_request(server, "POST", "/oauth/token", {
        "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret
    })
    return reply["access_token"]
