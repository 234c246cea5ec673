"""``common._validation.check_int_pair``: the (low, high) ranges of chapter 08 (fillers) and 09 (lengths)."""

import pytest

from common._validation import check_int_pair


def test_int_pair_accepts_and_converts():
    assert check_int_pair("fillers", (0, 0)) == (0, 0)
    assert check_int_pair("lengths", [3.0, 5], low_min=1) == (3, 5)


@pytest.mark.parametrize("pair, low_min, match", [
    ((5, 2), 0, r"fillers must satisfy 0 <= low <= high, got \(5, 2\)"),
    ((0, 4), 1, r"fillers must satisfy 1 <= low <= high"),
    ((1, 2, 3), 0, r"fillers must be a pair \(low, high\) of integers, got \(1, 2, 3\)"),
    (7, 0, r"must be a pair"),
    (("a", 2), 0, r"must be a pair"),
])
def test_int_pair_refuses(pair, low_min, match):
    with pytest.raises(ValueError, match=match):
        check_int_pair("fillers", pair, low_min=low_min)
