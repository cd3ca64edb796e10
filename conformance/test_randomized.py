"""Randomized check: query and fetch_by_metadata over thousands of records and hundreds of random filters,
compared with a reference evaluator written here from Pinecone's documented filter semantics."""
import random

import pytest
from pinecone import ServerlessSpec

from conftest import SDK_MAJOR

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
        return {field: {op: rng.randint(1988, 2027) if rng.random() < 0.5 else rng.randint(0, 50) / 10}}
    if op in ("$in", "$nin"):
        values = [random_operand(rng, field) for _ in range(rng.randint(1, 4))]
        return {field: {op: [v for v in values if not isinstance(v, bool)] or ["x"]}}
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


# --- the reference evaluator -------------------------------------------------------------------

def same(value, operand):
    """Equality without Python's bool/int mixing (True == 1 is false here, as in JSON)."""
    return type(value) is type(operand) and value == operand if isinstance(value, bool) or isinstance(operand, bool) \
        else (isinstance(value, str) == isinstance(operand, str)) and value == operand


def contains(value, operand):
    if isinstance(value, list):
        return isinstance(operand, str) and operand in value
    return same(value, operand)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def condition_holds(metadata, field, op, operand):
    present = field in metadata
    value = metadata.get(field)
    if op == "$exists":
        return present == operand
    if not present:
        return op in ("$ne", "$nin")
    if op == "$eq":
        return contains(value, operand)
    if op == "$ne":
        return not contains(value, operand)
    if op == "$in":
        return any(contains(value, o) for o in operand)
    if op == "$nin":
        return not any(contains(value, o) for o in operand)
    if not is_number(value):
        return False
    return {"$gt": value > operand, "$gte": value >= operand, "$lt": value < operand, "$lte": value <= operand}[op]


def reference_matches(metadata, filter_):
    for key, value in filter_.items():
        if key == "$and":
            if not all(reference_matches(metadata, part) for part in value):
                return False
        elif key == "$or":
            if not any(reference_matches(metadata, part) for part in value):
                return False
        elif isinstance(value, dict):
            if not all(condition_holds(metadata, key, op, operand) for op, operand in value.items()):
                return False
        elif not condition_holds(metadata, key, "$eq", value):
            return False
    return True


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
    nonempty = 0
    for _ in range(FILTERS):
        filter_ = random_filter(rng)
        query = [float(rng.randint(0, 9)) for _ in range(DIMENSION)]
        query[rng.randrange(DIMENSION)] += 1
        matching = [rid for rid, (_, m) in records.items() if reference_matches(m, filter_)]
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
