"""Chroma `where` clauses evaluated in Python on fetched candidates' stored metadata."""

from __future__ import annotations

from typing import Any

_COMPARE = {
    "$eq": lambda a, b: a == b, "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a is not None and a > b, "$gte": lambda a, b: a is not None and a >= b,
    "$lt": lambda a, b: a is not None and a < b, "$lte": lambda a, b: a is not None and a <= b,
    "$in": lambda a, b: a in b, "$nin": lambda a, b: a not in b,
}


class Unsupported(ValueError):
    """The clause uses an operator this evaluator does not know; let Chroma decide instead."""


def matches(meta: dict, where: dict[str, Any]) -> bool:
    """True when chunk metadata satisfies a Chroma `where` clause (True flags match 1 and True)."""
    for key, condition in where.items():
        if key == "$and":
            ok = all(matches(meta, part) for part in condition)
        elif key == "$or":
            ok = any(matches(meta, part) for part in condition)
        elif key.startswith("$"):
            raise Unsupported(key)
        elif isinstance(condition, dict):
            ok = all(_compare(op, meta.get(key), value) for op, value in condition.items())
        else:
            ok = _compare("$eq", meta.get(key), condition)
        if not ok:
            return False
    return True


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op not in _COMPARE:
        raise Unsupported(op)
    if actual is None and op in ("$ne", "$nin"):
        return False  # Chroma only matches chunks that have the key
    try:
        return bool(_COMPARE[op](actual, expected))
    except TypeError:  # e.g. comparing a string with a number: Chroma finds no match either
        return False

