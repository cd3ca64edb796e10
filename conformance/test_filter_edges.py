"""The filter language at its edges, checked against filter_reference.py: every operator on a field that no
record has, every operator on each type of value (string, number, boolean, list, empty list, missing),
booleans in `$in`/`$nin`, strings and booleans as range operands, empty filters, and `$and`/`$or` nested to
the depth limit and one past it. Valid filters must select exactly the reference's records through query
and fetch_by_metadata; invalid ones must be refused with 400."""
import pytest
from pinecone import ServerlessSpec

import filter_reference as reference
from conftest import SDK_MAJOR, data_path, raw_request

RECORDS = {
    "string": {"f": "a"},
    "string-one": {"f": "1"},
    "one": {"f": 1},
    "decimal": {"f": 2.5},
    "true": {"f": True},
    "false": {"f": False},
    "list": {"f": ["a", "b"]},
    "empty-list": {"f": []},
    "missing": {"g": "a"},
    "nothing": {},
}

OPERANDS = {
    "$eq": ["a", "1", 1, 1.0, 2.5, True, False, "b"],
    "$ne": ["a", 1, True, False],
    "$gt": [0, 1, 2.5], "$gte": [1, 2.5], "$lt": [1, 3], "$lte": [1, 2.5],
    "$in": [[], ["a"], [1, "b"], ["1"], [2.5, "zzz"]],
    "$nin": [[], ["a"], [1, "b"], [2.5]],
    "$exists": [True, False],
}


def valid_edges():
    filters = [{}]
    for field in ("f", "no_record_has_this"):
        filters.append({field: "a"})
        filters.append({field: True})
        for op, operands in OPERANDS.items():
            filters += [{field: {op: operand}} for operand in operands]
    filters.append({"f": {"$gte": 1, "$lt": 2.5}})  # several operators on one field: all must hold
    filters.append({"f": {"$ne": "a"}, "g": {"$exists": False}})
    return filters


def nested(depth):
    """A filter of exactly `depth` levels (the top-level object is level 1), alternating $and and $or."""
    filter_ = {"f": {"$exists": True}}
    for level in range(depth - 1):
        filter_ = {("$and", "$or")[level % 2]: [filter_, {"f": {"$ne": "a"}}] if level % 2 else [filter_]}
    return filter_


INVALID = [
    {"f": {"$in": [True]}}, {"f": {"$nin": [False]}}, {"f": {"$in": ["a", True]}},
    {"f": {"$gt": "a"}}, {"f": {"$lte": "1"}}, {"f": {"$lt": True}}, {"f": {"$gte": None}},
    {"f": {"$in": "a"}}, {"f": {"$exists": 1}}, {"f": {"$eq": None}}, {"f": {"$eq": ["a"]}}, {"f": {"$eq": {"x": 1}}},
    {"f": None}, {"f": ["a"]}, {"f": {}}, {"f": {"$regex": "a"}},
    {"$and": []}, {"$or": {}}, {"$eq": 1}, nested(reference.MAX_DEPTH + 1),
]


@pytest.fixture
def edges(pc, server, index_name):
    pc.create_index(name=index_name, dimension=2, metric="dotproduct", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
    index = pc.Index(name=index_name)
    index.upsert(vectors=[{"id": rid, "values": [1.0, 0.0], "metadata": m} if m else {"id": rid, "values": [1.0, 0.0]}
                          for rid, m in RECORDS.items()], namespace="edges")
    return index, data_path(pc.describe_index(index_name).host)


def selected(server, path, filter_):
    """(query status, ids) and (fetch_by_metadata status, ids) for a raw filter."""
    status, reply = raw_request(server, "POST", path + "/query", {"topK": 100, "vector": [1, 0], "namespace": "edges", "filter": filter_})
    by_query = (status, sorted(m["id"] for m in reply["matches"]) if status == 200 else reply)
    status, reply = raw_request(server, "POST", path + "/vectors/fetch_by_metadata", {"namespace": "edges", "filter": filter_, "limit": 100})
    by_fetch = (status, sorted(reply["vectors"]) if status == 200 else reply)
    return by_query, by_fetch


def test_valid_edges_select_exactly_the_reference_records(server, edges):
    _, path = edges
    filters = valid_edges() + [nested(depth) for depth in (2, 3, reference.MAX_DEPTH)]
    for filter_ in filters:
        reference.check(filter_)
        expected = sorted(rid for rid, metadata in RECORDS.items() if reference.matches(metadata, filter_))
        by_query, by_fetch = selected(server, path, filter_)
        assert by_query == (200, expected), filter_
        if filter_:
            assert by_fetch == (200, expected), filter_
        else:
            # Choice 7: an empty filter is "no filter" for query but refused by fetch_by_metadata.
            assert by_query == (200, sorted(RECORDS))
            assert by_fetch[0] == 400, by_fetch


def test_invalid_edges_are_refused_with_400_and_the_reference_agrees(server, edges):
    _, path = edges
    for filter_ in INVALID:
        assert not reference.is_valid(filter_), filter_
        by_query, by_fetch = selected(server, path, filter_)
        assert by_query[0] == 400, (filter_, by_query)
        assert by_fetch[0] == 400, (filter_, by_fetch)
        message = by_query[1].get("message") or by_query[1].get("error", {}).get("message", "")
        assert "filter" in message.lower(), (filter_, by_query)


def test_the_sdk_sends_the_edge_filters_unchanged(edges):
    """The same edges through the official SDK's query (which passes filters through as given)."""
    index, _ = edges
    for filter_ in [{"f": {"$in": []}}, {"f": {"$nin": []}}, {"no_record_has_this": {"$ne": "a"}}, nested(reference.MAX_DEPTH)]:
        expected = sorted(rid for rid, metadata in RECORDS.items() if reference.matches(metadata, filter_))
        result = index.query(vector=[1.0, 0.0], top_k=100, namespace="edges", filter=filter_)
        assert sorted(m.id for m in result.matches) == expected, filter_
    if SDK_MAJOR >= 10:
        fetched = index.fetch_by_metadata(filter={"f": {"$exists": False}}, namespace="edges", limit=100)
        assert sorted(fetched.vectors) == ["missing", "nothing"]
