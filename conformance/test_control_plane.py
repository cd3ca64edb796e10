"""Control-plane conformance: every index call of the official SDK against a real Conifer server."""
import pytest
from pinecone import Pinecone, PodSpec, ServerlessSpec

from conftest import SDK_MAJOR, expect_status, tags_of

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")


def names(pc):
    return [index.name for index in pc.list_indexes()]


def test_create_describe_list_dense(pc, server, index_name):
    assert index_name not in names(pc)
    created = pc.create_index(
        name=index_name, dimension=8, metric="euclidean", spec=SERVERLESS, deletion_protection="disabled", tags={"env": "dev"}
    )
    assert created.name == index_name
    described = pc.describe_index(index_name)
    assert described.dimension == 8
    assert described.metric == "euclidean"
    assert described.vector_type == "dense"
    assert described.deletion_protection == "disabled"
    assert tags_of(described) == {"env": "dev"}
    assert described.status.ready is True
    assert described.status.state == "Ready"
    assert described.spec.serverless.cloud == "aws"
    assert described.spec.serverless.region == "us-east-1"
    assert described.host.startswith(server.url + "/data/")
    assert described.host.endswith("/" + index_name)
    assert index_name in names(pc)
    assert pc.has_index(index_name)


def test_create_sparse_index(pc, index_name):
    pc.create_index(name=index_name, vector_type="sparse", metric="dotproduct", spec=SERVERLESS)
    described = pc.describe_index(index_name)
    assert described.vector_type == "sparse"
    assert described.metric == "dotproduct"
    assert described.dimension is None


def test_pod_index_scales(pc, index_name):
    pc.create_index(name=index_name, dimension=4, metric="cosine", spec=PodSpec(environment="us-east1-gcp", pod_type="p1.x1"))
    pc.configure_index(index_name, replicas=2, pod_type="p1.x2")
    pod = pc.describe_index(index_name).spec.pod
    assert pod.environment == "us-east1-gcp"
    assert pod.replicas == 2
    assert pod.pod_type == "p1.x2"


def test_configure_tags_and_deletion_protection(pc, index_name):
    pc.create_index(name=index_name, dimension=3, metric="cosine", spec=SERVERLESS, tags={"env": "dev", "team": "a"})
    pc.configure_index(index_name, deletion_protection="enabled", tags={"env": "", "owner": "me"})
    described = pc.describe_index(index_name)
    assert described.deletion_protection == "enabled"
    assert tags_of(described) == {"team": "a", "owner": "me"}


def test_deletion_protection_blocks_delete_with_403(pc, index_name):
    pc.create_index(name=index_name, dimension=3, metric="cosine", spec=SERVERLESS, deletion_protection="enabled")
    error = expect_status(403, pc.delete_index, index_name)
    assert "Deletion protection" in str(error)
    assert pc.has_index(index_name)
    pc.configure_index(index_name, deletion_protection="disabled")
    pc.delete_index(index_name)  # polls describe until it answers 404
    assert not pc.has_index(index_name)
    expect_status(404, pc.describe_index, index_name)


def test_missing_index_is_404(pc):
    error = expect_status(404, pc.describe_index, "no-such-index")
    assert "no-such-index" in str(error)
    expect_status(404, pc.delete_index, "no-such-index")
    expect_status(404, pc.configure_index, "no-such-index", deletion_protection="enabled")


def test_duplicate_name_is_409(pc, index_name):
    pc.create_index(name=index_name, dimension=3, metric="cosine", spec=SERVERLESS)
    expect_status(409, pc.create_index, name=index_name, dimension=5, metric="cosine", spec=SERVERLESS)
    assert pc.describe_index(index_name).dimension == 3


def test_invalid_requests_are_400_and_store_nothing(pc, index_name):
    before = names(pc)
    if SDK_MAJOR >= 10:
        # 10.x validates names and tag keys itself; these reach the server.
        expect_status(400, pc.create_index, name=index_name, dimension=0, metric="cosine", spec=SERVERLESS)
        expect_status(400, pc.create_index, name=index_name, dimension=3, metric="cosine", spec=ServerlessSpec(cloud="moon", region="x"))
    else:
        # 7.x validates dimension, metric and cloud itself; these reach the server.
        expect_status(400, pc.create_index, name="Not_Valid", dimension=3, metric="cosine", spec=SERVERLESS)
        expect_status(400, pc.create_index, name=index_name, dimension=3, metric="cosine", spec=SERVERLESS, tags={"bad key": "v"})
        # 10.x drops the metric of a sparse index when it builds the schema; 7.x sends it.
        expect_status(400, pc.create_index, name=index_name, vector_type="sparse", metric="cosine", spec=SERVERLESS)
    assert names(pc) == before


def test_wrong_api_key_is_401(server):
    intruder = Pinecone(api_key="pcsk_wrong_" + "x" * 40, host=server.url)
    expect_status(401, intruder.list_indexes)
    expect_status(401, intruder.describe_index, "anything")


def test_index_host_reaches_its_data_plane(pc, index_name):
    pc.create_index(name=index_name, dimension=3, metric="cosine", spec=SERVERLESS)
    index = pc.Index(name=index_name)  # dials the host from describe_index
    index.upsert(vectors=[("a", [1.0, 2.0, 3.0])])
    stats = index.describe_index_stats()
    assert stats.total_vector_count == 1
    assert stats.dimension == 3


@pytest.mark.skipif(SDK_MAJOR < 10, reason="the schema/deployment API is 2026-07 only")
def test_2026_schema_api(pc, index_name):
    created = pc.indexes.create(
        name=index_name,
        schema={"fields": {"_values": {"type": "dense_vector", "dimension": 16, "metric": "dotproduct"}}},
        deployment={"deployment_type": "managed", "cloud": "gcp", "region": "us-central1"},
        read_capacity={"mode": "Dedicated", "dedicated": {"node_type": "b1", "scaling": "Manual", "manual": {"replicas": 1, "shards": 1}}},
        tags={"env": "dev"},
    )
    assert created.schema.fields["_values"].dimension == 16
    described = pc.indexes.describe(index_name)
    assert described.deployment.cloud == "gcp"
    assert described.deployment.region == "us-central1"
    assert type(described.read_capacity).__name__ == "ReadCapacityDedicatedResponse"
    assert described.read_capacity.dedicated.node_type == "b1"
    assert described.schema.fields["_values"].metric == "dotproduct"
    configured = pc.indexes.configure(index_name, deletion_protection="enabled", read_capacity={"mode": "OnDemand"})
    assert configured.deletion_protection == "enabled"
    assert type(configured.read_capacity).__name__ == "ReadCapacityOnDemandResponse"
    assert pc.indexes.exists(index_name)
    assert index_name in [index.name for index in pc.indexes.list()]
    expect_status(403, pc.indexes.delete, index_name)
    pc.indexes.configure(index_name, deletion_protection="disabled")
    pc.indexes.delete(index_name)
    assert not pc.indexes.exists(index_name)


@pytest.mark.skipif(SDK_MAJOR < 10, reason="the schema/deployment API is 2026-07 only")
def test_2026_sparse_and_unsupported_schemas(pc, index_name):
    pc.indexes.create(name=index_name, schema={"fields": {"_sparse_values": {"type": "sparse_vector"}}})
    assert pc.indexes.describe(index_name).vector_type == "sparse"
    other = index_name + "-doc"
    error = expect_status(
        400,
        pc.indexes.create,
        name=other,
        schema={"fields": {"body": {"type": "string", "full_text_search": {"language": "en"}}}},
    )
    assert "vectors-API" in str(error)
    assert not pc.indexes.exists(other)
