"""adlip.checks: the shared parameter checks refuse booleans, non-finite values and values out of range."""
import math

import numpy as np
import pytest

from adlip.checks import check_integer, check_number, check_positive


@pytest.mark.parametrize("value", [True, 1.0, "3", None, -1])
def test_check_integer_refuses_non_integers_and_values_below_the_minimum(value):
    with pytest.raises(ValueError, match=r"steps must be an integer >= 0, got"):
        check_integer("steps", value, 0)


def test_check_integer_accepts_numpy_integers_and_none_when_allowed():
    assert check_integer("n", np.int64(3), 1) == 3 and isinstance(check_integer("n", np.int64(3), 1), int)
    assert check_integer("n", None, 1, allow_none=True) is None
    with pytest.raises(ValueError, match="n must be an integer >= 1 or None"):
        check_integer("n", 0, 1, allow_none=True)


@pytest.mark.parametrize("value", [False, math.nan, math.inf, -0.5, 1.5, "0.5"])
def test_check_number_refuses_what_is_not_in_the_interval(value):
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\], got"):
        check_number("rate", value, low=0.0, high=1.0)


def test_open_ends_and_infinite_values_follow_the_arguments():
    assert check_number("nu", 1.0, low=0.0, high=1.0, low_closed=False) == 1.0
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        check_number("nu", 0.0, low=0.0, high=1.0, low_closed=False)
    assert check_number("k", math.inf, low=0.0, low_closed=False, finite=False) == math.inf
    assert check_positive("k", None, allow_none=True) is None
    with pytest.raises(ValueError, match="k must be None or a positive number, got 0"):
        check_positive("k", 0, allow_none=True)
