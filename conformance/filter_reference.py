"""A reference for Pinecone's metadata filter language, written from its documentation (pinecone-api.md
§3.3, docs.pinecone.io/guides/search/filter-by-metadata), independent of Conifer's code.

Where the documentation is silent, the choice made here (and by Conifer) and its reason:

1. Values of different JSON types are never equal: `{"f": 1}` does not match `"1"` or `true`, and `$ne`
   matches them. JSON keeps booleans, numbers and strings apart; Python's `True == 1` must not leak in.
   Numbers compare as float64 (`1` equals `1.0`), since metadata numbers are stored as float64.
2. `$in`/`$nin` take strings and numbers only; a boolean in the list is refused (400). The documented operand
   type is "array of string or number"; refusing beats silently never matching.
3. `$gt`/`$gte`/`$lt`/`$lte` take a number; a string or boolean operand is refused (400). Against a value
   that is not a number (a string, boolean or list) they do not match: there is no documented ordering.
4. A record without the field matches `$ne`, `$nin` and `$exists: false` only — the documented reading of
   "not equal" as "no value equal", the same rule as for lists.
5. A list field matches `$eq`/`$in` when any element does and `$ne`/`$nin` when none does (documented); an
   empty list is present (`$exists: true`) and matches `$ne`/`$nin` but never `$eq`/`$in`.
6. `$in: []` matches nothing and `$nin: []` matches every record: the set reading of the operators.
7. `{}` means no filter on query (every record); delete, update and fetch_by_metadata refuse an empty filter
   (documented for delete; applied to the other two as the SDK's messages say).
8. Several operators on one field, and several fields in one object, must all hold (implicit AND, as
   documented for fields). `$and`/`$or` take a non-empty array (an empty one is refused: 400).
9. Nesting: the top-level object is level 1 and each `$and`/`$or` adds one; more than `MAX_DEPTH` levels is
   refused (400). Pinecone publishes no limit; Conifer's bounds the cost of a filter (SECURITY.md rule 10).
10. An operand of `null`, an object operand, an unknown operator, an empty operator object, a `$exists` that
    is not a boolean, and an operator at top level are refused (400).
"""

MAX_DEPTH = 16
RANGE = ("$gt", "$gte", "$lt", "$lte")
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$exists") + RANGE


class InvalidFilter(ValueError):
    """The filter is refused with 400."""


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_scalar(value):
    return isinstance(value, (str, bool)) or is_number(value)


def check(filter_, depth=1):
    """Raises InvalidFilter where Conifer must answer 400 (choices 2, 3, 8, 9, 10)."""
    if not isinstance(filter_, dict):
        raise InvalidFilter("a filter is an object")
    if depth > MAX_DEPTH:
        raise InvalidFilter("nested too deep")
    for key, value in filter_.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise InvalidFilter(f"{key} takes a non-empty array")
            for part in value:
                check(part, depth + 1)
        elif key.startswith("$"):
            raise InvalidFilter("operator at top level")
        elif isinstance(value, dict):
            if not value:
                raise InvalidFilter("no operator")
            for op, operand in value.items():
                if op not in OPERATORS:
                    raise InvalidFilter(f"unknown operator {op}")
                if op == "$exists" and not isinstance(operand, bool):
                    raise InvalidFilter("$exists takes a boolean")
                if op in RANGE and not is_number(operand):
                    raise InvalidFilter(f"{op} takes a number")
                if op in ("$in", "$nin") and (not isinstance(operand, list) or not all(isinstance(o, str) or is_number(o) for o in operand)):
                    raise InvalidFilter(f"{op} takes an array of strings and numbers")
                if op in ("$eq", "$ne") and not is_scalar(operand):
                    raise InvalidFilter(f"{op} takes a string, number or boolean")
        elif not is_scalar(value):
            raise InvalidFilter("shorthand takes a string, number or boolean")


def is_valid(filter_):
    try:
        check(filter_)
        return True
    except InvalidFilter:
        return False


def same(value, operand):
    """Equality of JSON scalars (choice 1)."""
    if isinstance(value, bool) or isinstance(operand, bool):
        return type(value) is type(operand) and value == operand
    if is_number(value) and is_number(operand):
        return float(value) == float(operand)
    return isinstance(value, str) and isinstance(operand, str) and value == operand


def contains(value, operand):
    """A list matches when an element does (choice 5)."""
    if isinstance(value, list):
        return any(same(element, operand) for element in value)
    return same(value, operand)


def condition_holds(metadata, field, op, operand):
    present = field in metadata
    value = metadata.get(field)
    if op == "$exists":
        return present == operand
    if not present:
        return op in ("$ne", "$nin")  # choice 4
    if op == "$eq":
        return contains(value, operand)
    if op == "$ne":
        return not contains(value, operand)
    if op == "$in":
        return any(contains(value, o) for o in operand)  # choice 6: [] matches nothing
    if op == "$nin":
        return not any(contains(value, o) for o in operand)
    if not is_number(value):
        return False  # choice 3
    return {"$gt": value > operand, "$gte": value >= operand, "$lt": value < operand, "$lte": value <= operand}[op]


def matches(metadata, filter_):
    """Whether a record's metadata satisfies a valid filter."""
    for key, value in filter_.items():
        if key == "$and":
            if not all(matches(metadata, part) for part in value):
                return False
        elif key == "$or":
            if not any(matches(metadata, part) for part in value):
                return False
        elif isinstance(value, dict):
            if not all(condition_holds(metadata, key, op, operand) for op, operand in value.items()):
                return False
        elif not condition_holds(metadata, key, "$eq", value):
            return False
    return True
