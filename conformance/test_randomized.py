"""Randomized check: query and fetch_by_metadata over thousands of records and hundreds of random filters,
compared with the reference evaluator in filter_reference.py (written from Pinecone's documented filter
semantics); a few random filters are invalid on purpose and must be refused with 400."""
import random

import pytest
from pinecone import ServerlessSpec

import filter_reference as reference
from conftest import SDK_MAJOR, expect_status

RECORDS = 3000
FILTERS = 200
DIMENSION = 8
GENRES = ["drama", "comedy", "action", "horror", "documentary"]
FIELDS = ["genre", "year", "rating", "tags", "flag", "sparse_field"]


def make_metadata(rng):
    metadata = {}
    if rng.random() < 0.9:
        metadata["genre"] = rng.choice(GENRES)
    if rng.random() < 0.8:
        metadata["year"] = rng.randint(1990, 2025)
    if rng.random() < 0.7:
        metadata["rating"] = rng.randint(0, 50) / 10
    if rng.random() < 0.6:
        metadata["tags"] = rng.sample(GENRES, rng.randint(0, 3))
    if rng.random() < 0.5:
        metadata["flag"] = rng.random() < 0.5
    if rng.random() < 0.1:
        metadata["sparse_field"] = rng.choice(["x", "y"])
    return metadata


def random_operand(rng, field):
    if field in ("genre", "tags", "sparse_field"):
        return rng.choice(GENRES + ["x", "y"])
    if field == "year":
        return rng.randint(1988, 2027)
    if field == "rating":
        return rng.randint(0, 50) / 10
    return rng.choice([True, False]) if rng.random() < 0.8 else rng.choice(["true", 1])


def random_condition(rng):
    field = rng.choice(FIELDS)
    op = rng.choice(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "shorthand"])
    if op == "shorthand":
        return {field: random_operand(rng, field)}
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if rng.random() < 0.03:
            return {field: {op: rng.choice(["2000", True])}}  # refused: range operators take numbers
        return {field: {op: rng.randint(1988, 2027) if rng.random() < 0.5 else rng.randint(0, 50) / 10}}
    if op in ("$in", "$nin"):
        values = [random_operand(rng, field) for _ in range(rng.randint(0, 4))]
        # Booleans are refused in $in/$nin (filter_reference choice 2): keep one now and then.
        return {field: {op: values if rng.random() < 0.05 else [v for v in values if not isinstance(v, bool)]}}
    if op == "$exists":
        return {field: {op: rng.random() < 0.5}}
    return {field: {op: random_operand(rng, field)}}


def random_filter(rng, depth=0):
    roll = rng.random()
    if depth < 3 and roll < 0.25:
        return {rng.choice(["$and", "$or"]): [random_filter(rng, depth + 1) for _ in range(rng.randint(1, 3))]}
    if roll < 0.45:
        combined = {}
        for _ in range(rng.randint(2, 3)):
            combined.update(random_condition(rng))
        return combined
    return random_condition(rng)


# --- the test ----------------------------------------------------------------------------------

@pytest.fixture
def dataset(pc, index_name):
    rng = random.Random(20261122)
    pc.create_index(name=index_name, dimension=DIMENSION, metric="dotproduct", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
    index = pc.Index(name=index_name)
    # Small integer components keep float32 dot products exact, so scores and ties compare exactly.
    records = {f"r{i:05d}": ([float(rng.randint(0, 9)) for _ in range(DIMENSION)], make_metadata(rng)) for i in range(RECORDS)}
    for values, _ in records.values():
        if not any(values):
            values[0] = 1.0
    items = list(records.items())
    for start in range(0, len(items), 200):
        index.upsert(vectors=[{"id": rid, "values": v, "metadata": m} for rid, (v, m) in items[start:start + 200]], namespace="rand")
    return index, records, rng


def test_query_and_fetch_by_metadata_match_the_reference(dataset):
    index, records, rng = dataset
    assert index.describe_index_stats().namespaces["rand"].vector_count == RECORDS
    nonempty = refused = 0
    for _ in range(FILTERS):
        filter_ = random_filter(rng)
        query = [float(rng.randint(0, 9)) for _ in range(DIMENSION)]
        query[rng.randrange(DIMENSION)] += 1
        if not reference.is_valid(filter_):
            refused += 1
            expect_status(400, index.query, vector=query, top_k=10, namespace="rand", filter=filter_)
            continue
        matching = [rid for rid, (_, m) in records.items() if reference.matches(m, filter_)]
        nonempty += bool(matching)
        ranked = sorted(matching, key=lambda rid: (-sum(a * b for a, b in zip(records[rid][0], query)), rid))
        top_k = rng.choice([1, 10, 100])
        result = index.query(vector=query, top_k=top_k, namespace="rand", filter=filter_)
        assert [m.id for m in result.matches] == ranked[:top_k], filter_
        everything = index.query(vector=query, top_k=10000, namespace="rand", filter=filter_)
        assert sorted(m.id for m in everything.matches) == sorted(matching), filter_
        if SDK_MAJOR >= 10:
            fetched = index.fetch_by_metadata(filter=filter_, namespace="rand", limit=10000)
            assert sorted(fetched.vectors) == sorted(matching), filter_
    assert nonempty > FILTERS // 3, "the random filters should mostly match something"
    assert 0 < refused < FILTERS // 5, refused
