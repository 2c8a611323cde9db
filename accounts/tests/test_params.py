import pytest

from accounts.params import index, int_between, is_digits, positive_int


@pytest.mark.parametrize(("text", "expected"), [("7", 7), ("000012", 12), ("9" * 18, 10**18 - 1)])
def test_it_reads_a_positive_id(text, expected):
    assert positive_int(text) == expected


@pytest.mark.parametrize("text", [None, "", "0", "-3", "1.5", " 4", "²", "٣", "9" * 19, "12abc"])
def test_anything_else_is_none_not_an_error(text):
    assert positive_int(text) is None


@pytest.mark.parametrize(("text", "expected"), [("0", 0), ("3", 3), ("9" * 18, 10**18 - 1)])
def test_an_index_counts_from_zero(text, expected):
    assert index(text) == expected


@pytest.mark.parametrize("text", [None, 3, "", "-1", " 2", "²", "٣", "9" * 19])
def test_an_index_is_ascii_digits_or_none(text):
    assert index(text) is None


def test_a_number_out_of_its_range_is_none():
    assert int_between("65535", 1, 65535) == 65535
    assert int_between("65536", 1, 65535) is None
    assert int_between("0", 1, 65535) is None


@pytest.mark.parametrize(("text", "expected"), [("0123", True), ("", False), ("²", False), ("٣", False), (7, False)])
def test_digits_are_ascii_digits(text, expected):
    assert is_digits(text) is expected
