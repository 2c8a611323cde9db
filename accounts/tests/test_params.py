import pytest

from accounts.params import positive_int


@pytest.mark.parametrize(("text", "expected"), [("7", 7), ("000012", 12), ("9" * 18, 10**18 - 1)])
def test_it_reads_a_positive_id(text, expected):
    assert positive_int(text) == expected


@pytest.mark.parametrize("text", [None, "", "0", "-3", "1.5", " 4", "²", "٣", "9" * 19, "12abc"])
def test_anything_else_is_none_not_an_error(text):
    assert positive_int(text) is None
