import pytest

from directive_release.version import InvalidVersion, Version, bump, is_valid, parse


@pytest.mark.parametrize(
    ("old", "part", "new"),
    [
        ("0.4.1", "patch", "0.4.2"),
        ("0.4.1", "minor", "0.5.0"),
        ("0.4.1", "major", "1.0.0"),
        ("1.9.9", "patch", "1.9.10"),
        ("1.9.9", "minor", "1.10.0"),
        ("9.9.9", "major", "10.0.0"),
        ("0.0.0", "patch", "0.0.1"),
        ("123456789.0.0", "major", "123456790.0.0"),
    ],
)
def test_bump(old: str, part: str, new: str) -> None:
    assert bump(old, part) == new  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.02.3", "leading zero in minor"),
        ("01.2.3", "leading zero in major"),
        ("1.2.03", "leading zero in patch"),
        ("v1.2.3", "'v' prefix"),
        ("1.2", "found 2 parts"),
        ("1.2.3.4", "found 4 parts"),
        (" 1.2.3", "whitespace"),
        ("1.2.3\n", "whitespace"),
        ("1. 2.3", "whitespace"),
        ("1.2.3-rc.1", "pre-release"),
        ("1.2.3rc1", "pre-release"),
        ("1.2.3.dev0", "pre-release"),
        ("1.2.3.post1", "pre-release"),
        ("1.2.3+local", "build metadata"),
        ("\u0661.2.3", "non-ASCII digits"),
        ("1..3", "empty minor"),
        ("", "empty string"),
        ("a.b.c", "is not a number"),
        ("-1.2.3", "is not a number"),
    ],
)
def test_invalid_versions_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidVersion) as info:
        parse(text)
    assert reason in str(info.value)
    assert str(info.value).startswith("version ")
    assert not is_valid(text)


def test_parse_gives_numbers_and_orders() -> None:
    assert parse("10.0.0") > parse("9.99.99")
    assert parse("1.2.3") == Version(1, 2, 3)
    assert str(parse("0.10.0")) == "0.10.0"


def test_non_string_is_rejected() -> None:
    with pytest.raises(InvalidVersion, match="expected a string"):
        parse(123)  # type: ignore[arg-type]


def test_unknown_part() -> None:
    with pytest.raises(ValueError, match="unknown part"):
        parse("1.2.3").bump("micro")  # type: ignore[arg-type]
