import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integhub.errors import ValidationFailed
from integhub.validation import (
    normalize_api_key,
    normalize_email,
    normalize_interval,
    normalize_name,
    normalize_positive_int,
    normalize_remote_id,
    normalize_team_slug,
)

GOOD = "cal_0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("raw", [GOOD, f"  {GOOD}\n", f"Bearer {GOOD}", f"bearer   {GOOD} "])
def test_key_is_stripped_of_whitespace_and_bearer(raw):
    assert normalize_api_key(raw, required_prefix="cal_") == GOOD


@pytest.mark.parametrize("raw,key", [
    ("", "validation.key_empty"), ("   ", "validation.key_empty"), ("Bearer ", "validation.key_empty"),
    ("cal_abc def", "validation.key_whitespace"), ("cal_abc\x00def", "validation.key_whitespace"),
    ("cal_abc\u200bdef", "validation.key_whitespace"), ("cal_" + "a" * 600, "validation.key_too_long"),
    ("key_0123456789", "validation.key_prefix"),
])
def test_bad_keys_are_rejected_with_a_reason(raw, key):
    with pytest.raises(ValidationFailed) as exc:
        normalize_api_key(raw, required_prefix="cal_")
    assert exc.value.key == key and exc.value.field == "api_key"
    assert exc.value.message("de") and exc.value.message("en")


def test_retell_keys_need_no_prefix():
    assert normalize_api_key("key_abc123", required_prefix=None) == "key_abc123"


@pytest.mark.parametrize("slug,ok", [("mein-team", True), ("a", True), ("team-1", True), ("-team", False),
                                     ("Team", False), ("a" * 64, False), ("a" * 63, True), ("mein team", False)])
def test_team_slug(slug, ok):
    if ok:
        assert normalize_team_slug(slug) == slug
    else:
        with pytest.raises(ValidationFailed):
            normalize_team_slug(slug)


def test_empty_team_slug_means_none():
    assert normalize_team_slug("  ") is None and normalize_team_slug(None) is None


@pytest.mark.parametrize("value", [15, "30", 60, "1440"])
def test_interval_accepts_the_four_choices(value):
    assert normalize_interval(value) in (15, 30, 60, 1440)


@pytest.mark.parametrize("value", [0, 5, "abc", None, 61, "15.5", True])
def test_interval_rejects_others(value):
    with pytest.raises(ValidationFailed):
        normalize_interval(value if value is not True else "true")


VALIDATORS = [
    lambda s: normalize_api_key(s, required_prefix="cal_"),
    lambda s: normalize_api_key(s, required_prefix=None),
    normalize_team_slug, normalize_interval, normalize_name, normalize_email,
    lambda s: normalize_positive_int(s, "x"), lambda s: normalize_remote_id(s, "x"),
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.none(), st.integers(), st.binary(), st.floats(allow_nan=True)))
def test_validators_never_raise_anything_but_validation_failed(value):
    for validate in VALIDATORS:
        try:
            validate(value)
        except ValidationFailed as exc:
            assert exc.message("de") and exc.message("en")
