"""The phrases the companion studies' budget captions share: a size or "all", a list, a count and its noun."""
from __future__ import annotations


def size(count, prefix: str = "") -> str:
    """``"all"`` for None (the whole split), else the number, after ``prefix`` ("at most 2000")."""
    return "all" if count is None else f"{prefix}{count}"


def listed(values) -> str:
    """``0, 1, 2``."""
    return ", ".join(map(str, values))


def plural(count: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")
