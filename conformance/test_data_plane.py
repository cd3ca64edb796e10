"""Data-plane conformance: every vector operation of the official SDK against a real Conifer server."""
import pytest
from pinecone import ServerlessSpec

from conftest import SDK_MAJOR, data_path, expect_status, list_all_ids, raw_request, same_json

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")


def make_index(pc, name, dimension=4, metric="dotproduct", vector_type="dense"):
    if vector_type == "sparse":
        pc.create_index(name=name, vector_type="sparse", metric="dotproduct", spec=SERVERLESS)
    else:
        pc.create_index(name=name, dimension=dimension, metric=metric, spec=SERVERLESS)
    return pc.Index(name=name)


def sparse_of(vector):
    sparse = vector.sparse_values
    if sparse is None:
        return None
    return (list(sparse.indices), [round(v, 6) for v in sparse.values])


def test_upsert_fetch_and_replace(pc, index_name):
    index = make_index(pc, index_name)
    result = index.upsert(
        vectors=[
            {"id": "a", "values": [0.5, 0.25, 0.125, 1.0], "metadata": {"genre": "drama", "year": 2019, "tags": ["x", "y"], "ok": True}},
            {"id": "b", "values": [1.0, 0.0, 0.0, 0.0], "sparse_values": {"indices": [7, 2], "values": [0.5, 0.25]}},
        ],
        namespace="ns1",
    )
    assert result.upserted_count == 2
    fetched = index.fetch(ids=["a", "b", "missing"], namespace="ns1")
    assert sorted(fetched.vectors) == ["a", "b"]
    a = fetched.vectors["a"]
    assert list(a.values) == [0.5, 0.25, 0.125, 1.0]
    assert same_json(a.metadata, {"genre": "drama", "year": 2019, "tags": ["x", "y"], "ok": True})
    assert sparse_of(fetched.vectors["b"]) == ([2, 7], [0.25, 0.5])

    index.upsert(vectors=[{"id": "a", "values": [0.0, 0.0, 0.0, 2.0]}], namespace="ns1")
    replaced = index.fetch(ids=["a"], namespace="ns1").vectors["a"]
    assert list(replaced.values) == [0.0, 0.0, 0.0, 2.0]
    assert not replaced.metadata


def test_query_by_vector_id_filter_and_flags(pc, index_name):
    index = make_index(pc, index_name)
    index.upsert(
        vectors=[
            {"id": f"v{i}", "values": [float(i), 1.0, 0.0, 0.0], "metadata": {"n": i, "even": i % 2 == 0}}
            for i in range(1, 11)
        ],
        namespace="q",
    )
    result = index.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=3, namespace="q", include_values=True, include_metadata=True)
    assert [m.id for m in result.matches] == ["v10", "v9", "v8"]
    assert [m.score for m in result.matches] == [10.0, 9.0, 8.0]
    assert list(result.matches[0].values) == [10.0, 1.0, 0.0, 0.0]
    assert same_json(result.matches[0].metadata, {"n": 10, "even": True})

    bare = index.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=2, namespace="q")
    assert not bare.matches[0].values
    assert not bare.matches[0].metadata

    filtered = index.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=4, namespace="q", filter={"even": False, "n": {"$lt": 9}})
    assert [m.id for m in filtered.matches] == ["v7", "v5", "v3", "v1"]

    by_id = index.query(id="v2", top_k=2, namespace="q")
    assert [m.id for m in by_id.matches] == ["v10", "v9"]
    assert index.query(id="nope", top_k=2, namespace="q").matches == []
    assert index.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=5, namespace="empty").matches == []


@pytest.mark.parametrize(
    "metric, expected",
    [
        # Cosine similarity and dot product: higher is better.
        ("cosine", [("same", 1.0), ("close", 0.89443), ("far", 0.0)]),
        ("dotproduct", [("same", 3.0), ("close", 2.0), ("far", 0.0)]),
        # Euclidean: the squared distance, lower is better, ascending.
        ("euclidean", [("close", 2.0), ("same", 4.0), ("far", 101.0)]),
    ],
)
def test_scores_follow_the_metric(pc, index_name, metric, expected):
    index = make_index(pc, index_name, dimension=2, metric=metric)
    index.upsert(vectors=[("same", [3.0, 0.0]), ("close", [2.0, 1.0]), ("far", [0.0, 10.0])])
    matches = index.query(vector=[1.0, 0.0], top_k=3).matches
    assert [(m.id, round(m.score, 5)) for m in matches] == expected


def test_sparse_index(pc, index_name):
    index = make_index(pc, index_name, vector_type="sparse")
    index.upsert(
        vectors=[
            {"id": "s1", "sparse_values": {"indices": [1, 5, 9], "values": [1.0, 2.0, 3.0]}, "metadata": {"k": "a"}},
            {"id": "s2", "sparse_values": {"indices": [5], "values": [10.0]}, "metadata": {"k": "b"}},
            {"id": "s3", "sparse_values": {"indices": [100], "values": [1.0]}},
        ]
    )
    matches = index.query(sparse_vector={"indices": [5, 9], "values": [1.0, 1.0]}, top_k=10).matches
    assert [(m.id, m.score) for m in matches] == [("s2", 10.0), ("s1", 5.0)]
    filtered = index.query(sparse_vector={"indices": [5, 9], "values": [1.0, 1.0]}, top_k=10, filter={"k": "a"}).matches
    assert [m.id for m in filtered] == ["s1"]
    assert sparse_of(index.fetch(ids=["s1"]).vectors["s1"]) == ([1, 5, 9], [1.0, 2.0, 3.0])
    stats = index.describe_index_stats()
    assert stats.total_vector_count == 3


def test_hybrid_query_on_dotproduct(pc, index_name):
    index = make_index(pc, index_name, dimension=2)
    index.upsert(
        vectors=[
            {"id": "dense-only", "values": [1.0, 0.0]},
            {"id": "both", "values": [0.5, 0.0], "sparse_values": {"indices": [3], "values": [2.0]}},
        ]
    )
    matches = index.query(vector=[1.0, 0.0], sparse_vector={"indices": [3], "values": [1.0]}, top_k=2).matches
    assert [(m.id, m.score) for m in matches] == [("both", 2.5), ("dense-only", 1.0)]


def test_update_by_id(pc, index_name):
    index = make_index(pc, index_name)
    index.upsert(vectors=[{"id": "u", "values": [1.0, 1.0, 1.0, 1.0], "metadata": {"a": 1, "b": "keep"}}], namespace="n")
    index.update(id="u", values=[2.0, 0.0, 0.0, 0.0], set_metadata={"a": 2, "c": True}, namespace="n")
    updated = index.fetch(ids=["u"], namespace="n").vectors["u"]
    assert list(updated.values) == [2.0, 0.0, 0.0, 0.0]
    assert same_json(updated.metadata, {"a": 2, "b": "keep", "c": True})
    index.update(id="u", sparse_values={"indices": [4], "values": [0.5]}, namespace="n")
    assert sparse_of(index.fetch(ids=["u"], namespace="n").vectors["u"]) == ([4], [0.5])
    error = expect_status(404, index.update, id="missing", set_metadata={"a": 1}, namespace="n")
    assert "missing" in str(error)


@pytest.mark.skipif(SDK_MAJOR < 10, reason="update by filter and fetch_by_metadata are API 2025-10+")
def test_update_by_filter_and_fetch_by_metadata(pc, index_name):
    index = make_index(pc, index_name)
    index.upsert(vectors=[{"id": f"r{i:03d}", "values": [1.0, 0.0, 0.0, float(i)], "metadata": {"group": i % 3}} for i in range(30)])
    dry = index.update(filter={"group": {"$eq": 0}}, set_metadata={"flag": "yes"}, dry_run=True)
    assert dry.matched_records == 10
    assert not index.fetch_by_metadata(filter={"flag": {"$exists": True}}).vectors
    real = index.update(filter={"group": {"$eq": 0}}, set_metadata={"flag": "yes"})
    assert real.matched_records == 10
    seen, token = [], None
    while True:
        page = index.fetch_by_metadata(filter={"flag": "yes"}, limit=4, pagination_token=token)
        seen.extend(sorted(page.vectors))
        token = page.pagination.next if page.pagination else None
        if not token:
            break
    assert seen == [f"r{i:03d}" for i in range(0, 30, 3)]
    assert same_json(index.fetch(ids=["r003"]).vectors["r003"].metadata, {"group": 0, "flag": "yes"})


def test_delete_by_ids_filter_and_all(pc, index_name):
    index = make_index(pc, index_name)
    index.upsert(vectors=[{"id": f"d{i}", "values": [1.0, float(i), 0.0, 0.0], "metadata": {"i": i}} for i in range(10)], namespace="del")
    index.delete(ids=["d0", "d1", "never-existed"], namespace="del")
    assert sorted(index.fetch(ids=["d0", "d1", "d2"], namespace="del").vectors) == ["d2"]
    index.delete(filter={"i": {"$gte": 7}}, namespace="del")
    assert sorted(list_all_ids(index, "del")) == [f"d{i}" for i in range(2, 7)]
    index.delete(delete_all=True, namespace="del")
    assert list_all_ids(index, "del") == []
    assert "del" not in index.describe_index_stats().namespaces


def test_list_paginates_to_the_end_in_stable_order(pc, index_name):
    index = make_index(pc, index_name)
    ids = [f"doc#{i:04d}" for i in range(250)] + [f"other-{i}" for i in range(20)]
    for start in range(0, len(ids), 100):
        index.upsert(vectors=[(i, [1.0, 0.0, 0.0, 1.0]) for i in ids[start:start + 100]], namespace="l")
    first = index.list_paginated(prefix="doc#", limit=100, namespace="l")
    assert len(first.vectors) == 100
    assert first.pagination and first.pagination.next
    listed = list_all_ids(index, "l", prefix="doc#", limit=100)
    assert listed == sorted(i for i in ids if i.startswith("doc#"))
    assert list_all_ids(index, "l") == sorted(ids)


def test_describe_index_stats(pc, index_name):
    index = make_index(pc, index_name, dimension=3, metric="cosine")
    index.upsert(vectors=[(f"a{i}", [1.0, 2.0, 3.0]) for i in range(5)])
    index.upsert(vectors=[(f"b{i}", [1.0, 2.0, 3.0]) for i in range(3)], namespace="b")
    stats = index.describe_index_stats()
    assert stats.dimension == 3
    assert stats.total_vector_count == 8
    namespaces = {name: summary.vector_count for name, summary in stats.namespaces.items()}
    assert namespaces == {"": 5, "b": 3}


def test_namespaces(pc, index_name):
    index = make_index(pc, index_name)
    index.upsert(vectors=[("x", [1.0, 0.0, 0.0, 0.0]), ("y", [1.0, 0.0, 0.0, 0.0])], namespace="alpha")
    index.upsert(vectors=[("z", [1.0, 0.0, 0.0, 0.0])])
    described = index.describe_namespace(namespace="alpha")
    assert described.name == "alpha"
    assert int(described.record_count) == 2
    assert int(index.describe_namespace(namespace="__default__").record_count) == 1
    names = []
    for item in index.list_namespaces():  # 10.x yields pages, 7.x namespaces
        single = isinstance(getattr(item, "name", None), str)
        names.extend([item.name] if single else [ns.name for ns in item.namespaces])
    names.sort()
    assert names == ["__default__", "alpha"]
    index.delete_namespace(namespace="alpha")
    expect_status(404, index.describe_namespace, namespace="alpha")
    assert index.fetch(ids=["x"], namespace="alpha").vectors == {}
    if SDK_MAJOR >= 10:
        created = index.create_namespace(name="made")
        assert created.name == "made"
        expect_status(409, index.create_namespace, name="made")
        assert int(index.describe_namespace(namespace="made").record_count) == 0


def test_invalid_writes_are_400_and_store_nothing(pc, server, index_name):
    index = make_index(pc, index_name, dimension=3, metric="cosine")
    path = data_path(pc.describe_index(index_name).host)
    index.upsert(vectors=[("keep", [1.0, 2.0, 3.0])])
    error = expect_status(400, index.upsert, vectors=[("ok", [1.0, 2.0, 3.0]), ("short", [1.0, 2.0])])
    assert "dimension" in str(error)
    bad_bodies = [
        {"vectors": [{"id": "ok", "values": [1, 2, 3]}, {"id": "zero", "values": [0, 0, 0]}]},
        {"vectors": [{"id": "ok", "values": [1, 2, 3]}, {"id": "m", "values": [1, 2, 3], "metadata": {"nested": {"a": 1}}}]},
        {"vectors": [{"id": "ok", "values": [1, 2, 3]}, {"id": "m", "values": [1, 2, 3], "metadata": {"n": None}}]},
        {"vectors": [{"id": "x" * 513, "values": [1, 2, 3]}]},
        {"vectors": [{"id": "é", "values": [1, 2, 3]}]},
        {"vectors": [{"id": "ok", "values": [1, 2, 3], "sparseValues": {"indices": [1, 1], "values": [1, 2]}}]},
        {"vectors": []},
        {"vectors": [{"id": f"i{i}", "values": [1, 2, 3]} for i in range(1001)]},
        {"vectors": [{"id": "big", "values": [1, 2, 3], "metadata": {"t": "x" * 41000}}]},
    ]
    for body in bad_bodies:
        status, reply = raw_request(server, "POST", path + "/vectors/upsert", body)
        assert status == 400, (body if len(str(body)) < 300 else str(body)[:300], reply)
        assert reply["code"] == 3 and reply["message"]
    status, reply = raw_request(server, "POST", path + "/vectors/upsert", b'{"vectors": [')
    assert status == 400
    for body in [{"topK": 0, "vector": [1, 2, 3]}, {"topK": 10001, "vector": [1, 2, 3]}, {"topK": 1, "vector": [1, 2]},
                 {"topK": 1}, {"topK": 1, "vector": [1, 2, 3], "id": "keep"}, {"topK": 1, "vector": [1, 2, 3], "filter": {"a": {"$bad": 1}}},
                 {"topK": 1, "vector": [1, 2, 3], "sparseVector": {"indices": [1], "values": [1]}}]:
        status, reply = raw_request(server, "POST", path + "/query", body)
        assert status == 400, (body, reply)
    for body in [{}, {"ids": ["a"], "deleteAll": True}, {"filter": {}}, {"ids": []}]:
        status, reply = raw_request(server, "POST", path + "/vectors/delete", body)
        assert status == 400, (body, reply)
    status, _ = raw_request(server, "GET", path + "/vectors/list?limit=101")
    assert status == 400
    status, _ = raw_request(server, "GET", path + "/vectors/list?paginationToken=%%%")
    assert status == 400
    stats = index.describe_index_stats()
    assert stats.total_vector_count == 1
    assert list_all_ids(index, "") == ["keep"]


def test_request_size_limit(pc, server, index_name):
    index = make_index(pc, index_name, dimension=1000)
    path = data_path(pc.describe_index(index_name).host)
    body = {"vectors": [{"id": f"v{i}", "values": [0.123456789] * 1000} for i in range(200)]}
    status, reply = raw_request(server, "POST", path + "/vectors/upsert", body)
    assert status == 413, reply
    assert index.describe_index_stats().total_vector_count == 0


def send_partial_body(server, path, head_lines, body_part, chunked_parts=0):
    """Sends a request's head and only part of its body, then returns (status, json) of the answer, which must
    come while the rest of the body has not been sent."""
    import json
    import socket
    from urllib.parse import urlparse

    url = urlparse(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=20) as connection:
        head = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", f"Api-Key: {server.api_key}", "Content-Type: application/json", *head_lines]
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body_part)
        for _ in range(chunked_parts):  # more chunks, never the last one
            connection.sendall(b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20)))
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        head_part, _, rest = answer.partition(b"\r\n\r\n")
        status = int(head_part.split(b" ")[1])
        length = int(next(line.split(b":")[1] for line in head_part.split(b"\r\n") if line.lower().startswith(b"content-length:")))
        while len(rest) < length:
            rest += connection.recv(65536)
        return status, json.loads(rest[:length])


def test_oversized_bodies_are_answered_before_they_are_read(pc, server, index_name):
    """A body over the limit is refused with 413 in each plane's error shape while most of it is unsent: by its
    Content-Length at once, or (chunked) as soon as the limit is passed."""
    make_index(pc, index_name)
    path = data_path(pc.describe_index(index_name).host) + "/vectors/upsert"
    status, reply = send_partial_body(server, path, ["Content-Length: 1073741824"], b'{"vectors": [')
    assert status == 413 and reply["code"] == 3 and "at most" in reply["message"], reply
    status, reply = send_partial_body(server, path, ["Transfer-Encoding: chunked"], b"", chunked_parts=3)
    assert status == 413 and reply["code"] == 3, reply
    status, reply = send_partial_body(server, "/indexes", ["Content-Length: 1073741824"], b'{"name": "')
    assert status == 413 and reply["error"]["code"] == "PAYLOAD_TOO_LARGE" and reply["status"] == 413, reply
    assert pc.Index(name=index_name).describe_index_stats().total_vector_count == 0


def test_namespace_listing_paginates(pc, index_name):
    index = make_index(pc, index_name)
    for name in ["team-a", "team-b", "team-c", "team-d", "team-e", "other"]:
        index.upsert(vectors=[("x", [1.0, 0.0, 0.0, 0.0])], namespace=name)
    seen, token = [], None
    prefix = {"prefix": "team-"} if SDK_MAJOR >= 10 else {}  # prefix is API 2025-10+
    while True:
        page = index.list_namespaces_paginated(limit=2, pagination_token=token, **prefix)
        assert len(page.namespaces) <= 2
        seen.extend(ns.name for ns in page.namespaces)
        token = page.pagination.next if page.pagination else None
        if not token:
            break
    expected = ["team-a", "team-b", "team-c", "team-d", "team-e"]
    assert seen == (expected if prefix else ["other"] + expected)
