"""Parameter checks shared by the whole package: one place for "is this a number in range".

Booleans are refused where numbers are expected (``True`` is an ``int`` to Python, never a valid
epoch count or K), non-finite numbers where finite ones are, and every message names the
parameter, what it must be and what it got, so that a user can fix the call without reading code.
"""
from __future__ import annotations

import math
import numbers


def is_integer(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)


def is_real(value, finite: bool = True) -> bool:
    """A real number that is not a bool (and finite, unless ``finite=False``)."""
    return (not isinstance(value, bool) and isinstance(value, numbers.Real)
            and (not finite or math.isfinite(value)))


def check_integer(name: str, value, minimum: int | None = None, *, allow_none: bool = False,
                  what: str | None = None):
    """``value`` as an int if it is an integer ``>= minimum`` (or None when allowed); else a ValueError."""
    if allow_none and value is None:
        return None
    if not is_integer(value) or (minimum is not None and value < minimum):
        if what is None:
            what = "an integer" + (f" >= {minimum}" if minimum is not None else "") + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_number(name: str, value, *, low: float | None = None, high: float | None = None,
                 low_closed: bool = True, high_closed: bool = True, finite: bool = True,
                 allow_none: bool = False, what: str | None = None):
    """``value`` as a float if it is a real number in the interval (or None when allowed); else a ValueError.

    ``low``/``high`` bound the interval (None: unbounded), ``*_closed`` say whether an end belongs to it.
    """
    if allow_none and value is None:
        return None
    inside = is_real(value, finite) and (
        low is None or (value >= low if low_closed else value > low)) and (
        high is None or (value <= high if high_closed else value < high))
    if not inside:
        raise ValueError(f"{name} must be {what or _interval(low, high, low_closed, high_closed)}, got {value!r}")
    return float(value)


def check_positive(name: str, value, *, allow_none: bool = False, what: str | None = None):
    """A finite number > 0 (or None when allowed)."""
    return check_number(name, value, low=0.0, low_closed=False, allow_none=allow_none,
                        what=what or ("None or a positive number" if allow_none else "a positive number"))


def _interval(low, high, low_closed, high_closed) -> str:
    if high is None:
        return "a finite number" if low is None else f"a finite number {'>=' if low_closed else '>'} {low:g}"
    return f"in {'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"
