"""Author and committer exactly as ``git commit`` resolves them (git 2.39 ``ident.c``).

Precedence for each of author/committer: ``GIT_<WHO>_NAME``/``_EMAIL`` in the
environment, then ``<who>.name``/``<who>.email``, then ``user.name``/
``user.email``, then (email only) the ``EMAIL`` environment variable.
``GIT_<WHO>_DATE`` is parsed with a port of git's ``parse_date()``; without it
both get the same "now" with the local time-zone offset (``TZ`` honoured).

Deliberate difference: where git would invent an identity from the system
(the passwd gecos field for a missing name, ``user@hostname`` for a missing
email), we refuse with :class:`IdentityError` and git's advice instead: a
release commit must never carry a machine-made identity. Everything git
itself accepts from configuration or environment is accepted, including its
quirks (only ``author.email`` configured gives the committer an empty email,
as git does).

No dulwich: ``dulwich.porcelain``'s identity (``_get_user_identity``) ignores
``author.*``/``committer.*``, ``user.useConfigOnly`` and ``includeIf "gitdir:"`` in
global files, uses only the time zone of ``GIT_*_DATE``, and silently invents
``user@hostname`` (notes/dulwich.md §1); tests/git/test_identity.py compares every
case with ``git var GIT_AUTHOR_IDENT``/``GIT_COMMITTER_IDENT``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

from ..errors import ConfigError, IdentityError
from .config import GitConfig, parse_bool

ADVICE = (
    'run git config --global user.name "Your Name" and'
    ' git config --global user.email "you@example.com"'
)


class Identity(NamedTuple):
    name: str
    email: str
    timestamp: int
    tz_offset_seconds: int

    def signature_bytes(self) -> bytes:
        """``b"Name <email>"``, as in a commit's author/committer line."""
        return f"{self.name} <{self.email}>".encode("utf-8", "surrogateescape")

    def ident_bytes(self) -> bytes:
        """The whole header value: ``b"Name <email> 1112911993 +0200"``."""
        return self.signature_bytes() + f" {self.timestamp} {format_tz(self.tz_offset_seconds)}".encode()


def format_tz(offset_seconds: int) -> str:
    """``+hhmm`` as git's date_string() writes it."""
    minutes = abs(offset_seconds) // 60
    return f"{'-' if offset_seconds < 0 else '+'}{minutes // 60:02d}{minutes % 60:02d}"


# ---------------------------------------------------------------------------
# Names and emails
# ---------------------------------------------------------------------------

def _crud(c: str) -> bool:
    return ord(c) <= 32 or c in ",:;<>\"\\'"


def _without_crud(text: str) -> str:
    """strbuf_addstr_without_crud(): trim crud at both ends, drop '<', '>' and newlines."""
    start, end = 0, len(text)
    while start < end and _crud(text[start]):
        start += 1
    while end > start and _crud(text[end - 1]):
        end -= 1
    return "".join(c for c in text[start:end] if c not in "\n<>")


class _IdentConfig(NamedTuple):
    """What git's ident config callback collects, values checked like git does."""

    user_name: str | None
    user_email: str | None
    who_name: dict[str, str | None]
    who_email: dict[str, str | None]
    name_given: bool
    email_given: bool
    use_config_only: bool


def _read_ident_config(config: GitConfig) -> _IdentConfig:
    def value(key: str) -> str | None:
        entries = config.entries_for(key)
        for entry in entries:
            if entry.value is None:  # git dies on the first bare key, even if a later one has a value
                raise entry.needs_value()
        return entries[-1].value if entries else None

    use_config_only = False
    for entry in config.entries_for("user.useConfigOnly"):
        parsed = parse_bool(entry.value)
        if parsed is None:
            raise ConfigError(
                f"bad boolean config value '{entry.value}' for 'user.useconfigonly' ({entry.where})"
            )
        use_config_only = parsed
    names = {who: value(f"{who}.name") for who in ("author", "committer")}
    emails = {who: value(f"{who}.email") for who in ("author", "committer")}
    user_name, user_email = value("user.name"), value("user.email")
    return _IdentConfig(
        user_name=user_name,
        user_email=user_email,
        who_name=names,
        who_email=emails,
        name_given=user_name is not None or any(v is not None for v in names.values()),
        email_given=user_email is not None or any(v is not None for v in emails.values()),
        use_config_only=use_config_only,
    )


def _unknown(who: str, detail: str) -> IdentityError:
    return IdentityError(f"{who.capitalize()} identity unknown ({detail}); {ADVICE}")


def _resolve_email(who: str, cfg: _IdentConfig, env: Mapping[str, str]) -> str:
    email = env.get(f"GIT_{who.upper()}_EMAIL")
    if email is None:
        email = cfg.who_email[who] or None  # git ignores an empty author.email/committer.email
    if email is not None:
        return email
    if cfg.use_config_only and not cfg.email_given:
        raise _unknown(who, "no email was given and user.useConfigOnly forbids guessing")
    if cfg.email_given:
        return cfg.user_email or ""  # git's ident_default_email(): "" when only <other>.email is set
    fallback = env.get("EMAIL", "").strip(" \t\n\r\v\f")
    if fallback:
        return fallback
    raise _unknown(who, "no email configured; directive-release never guesses user@hostname")


def _resolve_name(who: str, email: str, cfg: _IdentConfig, env: Mapping[str, str]) -> str:
    name = env.get(f"GIT_{who.upper()}_NAME")
    if name is None:
        name = cfg.who_name[who] or None
    if name is None:
        if cfg.use_config_only and not cfg.name_given:
            raise _unknown(who, "no name was given and user.useConfigOnly forbids guessing")
        if not cfg.name_given:
            raise _unknown(who, "no name configured; directive-release never uses the system account name")
        name = cfg.user_name or ""
    if not name:
        raise IdentityError(f"empty ident name (for <{email}>) not allowed; {ADVICE}")
    if all(_crud(c) for c in name):
        raise IdentityError(f"{who} name consists only of disallowed characters: {name!r}; {ADVICE}")
    return name


# ---------------------------------------------------------------------------
# Dates: a port of git's date.c parse_date_basic()
# ---------------------------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WEEKDAYS = ("Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays")
# (name, hours east of UTC, daylight saving adds one hour): git's own table
_ZONES = (
    ("IDLW", -12, 0), ("NT", -11, 0), ("CAT", -10, 0), ("HST", -10, 0), ("HDT", -10, 1),
    ("YST", -9, 0), ("YDT", -9, 1), ("PST", -8, 0), ("PDT", -8, 1), ("MST", -7, 0),
    ("MDT", -7, 1), ("CST", -6, 0), ("CDT", -6, 1), ("EST", -5, 0), ("EDT", -5, 1),
    ("AST", -3, 0), ("ADT", -3, 1), ("WAT", -1, 0), ("GMT", 0, 0), ("UTC", 0, 0), ("Z", 0, 0),
    ("WET", 0, 0), ("BST", 0, 1), ("CET", 1, 0), ("MET", 1, 0), ("MEWT", 1, 0), ("MEST", 1, 1),
    ("CEST", 1, 1), ("MESZ", 1, 1), ("FWT", 1, 0), ("FST", 1, 1), ("EET", 2, 0), ("EEST", 2, 1),
    ("WAST", 7, 0), ("WADT", 7, 1), ("CCT", 8, 0), ("JST", 9, 0), ("EAST", 10, 0),
    ("EADT", 10, 1), ("GST", 10, 0), ("NZT", 12, 0), ("NZST", 12, 0), ("NZDT", 12, 1),
    ("IDLE", 12, 0),
)
_MDAYS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
_DIGITS = "0123456789"
_C_SPACE = " \t\n\v\f\r"


def _isalpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _isalnum(c: str) -> bool:
    return _isalpha(c) or ("0" <= c <= "9")


def _digit_at(text: str, i: int) -> bool:
    return i < len(text) and "0" <= text[i] <= "9"


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _cmod(a: int, b: int) -> int:
    return a - b * _cdiv(a, b)


def _strtol(text: str, pos: int) -> tuple[int, int]:
    """strtol/strtoul(…, 10): (value, end); end == pos when nothing converts."""
    i = pos
    while i < len(text) and text[i] in _C_SPACE:
        i += 1
    sign = 1
    if i < len(text) and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    start = i
    while i < len(text) and text[i] in _DIGITS:
        i += 1
    if i == start:
        return 0, pos
    return sign * int(text[start:i]), i


class _Tm:
    """The fields of C's struct tm that parse_date_basic() uses; -1 means unset."""

    def __init__(self) -> None:
        self.year = self.mon = self.mday = self.hour = self.min = self.sec = -1
        self.wday = 0

    def copy(self) -> _Tm:
        other = _Tm()
        other.__dict__.update(self.__dict__)
        return other

    def nodate(self) -> bool:
        return all(v < 0 for v in (self.year, self.mon, self.mday, self.hour, self.min, self.sec))

    def set_from(self, st: time.struct_time) -> None:
        self.year, self.mon, self.mday = st.tm_year - 1900, st.tm_mon - 1, st.tm_mday
        self.hour, self.min, self.sec = st.tm_hour, st.tm_min, st.tm_sec
        self.wday = (st.tm_wday + 1) % 7


def _tm_to_time_t(tm: _Tm) -> int:
    year, month, day = tm.year - 70, tm.mon, tm.mday
    if year < 0 or year > 129 or month < 0 or month > 11:
        return -1
    if month < 2 or (year + 2) % 4:
        day -= 1
    if tm.hour < 0 or tm.min < 0 or tm.sec < 0:
        return -1
    return (year * 365 + (year + 1) // 4 + _MDAYS[month] + day) * 86400 + tm.hour * 3600 + tm.min * 60 + tm.sec


def _match_string(text: str, pos: int, word: str) -> int:
    i = 0
    while pos + i < len(text):
        c = text[pos + i]
        w = word[i] if i < len(word) else ""
        if c == w or (w and c.upper() == w.upper()):
            i += 1
            continue
        if not _isalnum(c):
            break
        return 0
    return i


class _DateParser:
    def __init__(self, text: str, now: int) -> None:
        self.text = text
        self.now = now
        self.tm = _Tm()
        self.offset = -1  # minutes east of UTC; -1 is git's "not given" marker
        self.tm_gmt = False

    def match_alpha(self, pos: int) -> int:
        text, tm = self.text, self.tm
        for i, month in enumerate(_MONTHS):
            n = _match_string(text, pos, month)
            if n >= 3:
                tm.mon = i
                return n
        for i, day in enumerate(_WEEKDAYS):
            n = _match_string(text, pos, day)
            if n >= 3:
                tm.wday = i
                return n
        for name, hours, dst in _ZONES:
            n = _match_string(text, pos, name)
            if n >= 3 or n == len(name):
                if self.offset == -1:
                    self.offset = 60 * (hours + dst)  # git's table: "we like summer"
                return n
        if _match_string(text, pos, "PM") == 2:
            tm.hour = _cmod(tm.hour, 12) + 12
            return 2
        if _match_string(text, pos, "AM") == 2:
            tm.hour = _cmod(tm.hour, 12)
            return 2
        if text[pos] == "T" and _digit_at(text, pos + 1) and tm.hour == -1:
            tm.min = tm.sec = 0
            return 1
        n = 1
        while pos + n < len(text) and _isalpha(text[pos + n]):
            n += 1
        return n

    def set_date(self, year: int, month: int, day: int, now_tm: _Tm | None, tm: _Tm) -> int:
        if not (0 < month < 13 and 0 < day < 32):
            return -1
        r = tm.copy() if now_tm is not None else tm
        r.mon, r.mday = month - 1, day
        if year == -1:
            if now_tm is None:
                return 1
            r.year = now_tm.year
        elif 1970 <= year < 2100:
            r.year = year - 1900
        elif 70 < year < 100:
            r.year = year
        elif year < 38:
            r.year = year + 100
        else:
            return -1
        if now_tm is None:
            return 0
        specified = _tm_to_time_t(r)
        if specified != -1 and self.now + 10 * 24 * 3600 < specified:
            return -1  # git refuses dates more than ten days in the future
        tm.mon, tm.mday = r.mon, r.mday
        if year != -1:
            tm.year = r.year
        return 0

    def set_time(self, hour: int, minute: int, second: int) -> int:
        if 0 <= hour <= 24 and 0 <= minute < 60 and 0 <= second <= 60:
            self.tm.hour, self.tm.min, self.tm.sec = hour, minute, second
            return 0
        return -1

    def match_multi_number(self, num: int, sep: str, pos: int, end: int) -> int:
        text, tm = self.text, self.tm
        num2, end = _strtol(text, end + 1)
        num3 = -1
        if end < len(text) and text[end] == sep and _digit_at(text, end + 1):
            num3, end = _strtol(text, end + 1)
        if sep == ":":
            if num3 < 0:
                num3 = 0
            if num < 25 and 0 <= num2 < 60 and 0 <= num3 <= 60:
                tm.hour, tm.min, tm.sec = num, num2, num3
                return end - pos
            return 0
        now_tm = _Tm()
        try:
            now_tm.set_from(time.gmtime(self.now))
            refuse_future: _Tm | None = now_tm
        except (OverflowError, OSError, ValueError):
            refuse_future = None
        if num > 70:
            if self.set_date(num, num2, num3, None, tm) == 0:
                return end - pos
            if self.set_date(num, num3, num2, None, tm) == 0:
                return end - pos
        if sep != "." and self.set_date(num3, num, num2, refuse_future, tm) == 0:
            return end - pos
        if self.set_date(num3, num2, num, refuse_future, tm) == 0:
            return end - pos
        if sep == "." and self.set_date(num3, num, num2, refuse_future, tm) == 0:
            return end - pos
        return 0

    def match_digit(self, pos: int) -> int:
        text, tm = self.text, self.tm
        end = pos
        while end < len(text) and text[end] in _DIGITS:
            end += 1
        num = int(text[pos:end])
        if num >= 100000000 and tm.nodate():
            try:
                tm.set_from(time.gmtime(num))
                self.tm_gmt = True
                return end - pos
            except (OverflowError, OSError, ValueError):
                pass
        if end < len(text) and text[end] in ":./-" and _digit_at(text, end + 1):
            matched = self.match_multi_number(num, text[end], pos, end)
            if matched:
                return matched
        n = end - pos
        if n in (8, 6):
            num1, num2, num3 = num // 10000, (num % 10000) // 100, num % 100
            if n == 8:
                self.set_date(num1, num2, num3, None, tm)
            elif self.set_time(num1, num2, num3) == 0 and end < len(text) and text[end] == "." \
                    and _digit_at(text, end + 1):
                _, end = _strtol(text, end + 1)
            return end - pos
        if n == 4:
            if num <= 1400 and self.offset == -1:
                self.offset = (num // 100) * 60 + num % 100
            elif 1900 < num < 2100:
                tm.year = num - 1900
            return n
        if n > 2:
            return n
        if 0 < num < 32 and tm.mday < 0:
            tm.mday = num
            return n
        if n == 2 and tm.year < 0:
            if num < 10 and tm.mday >= 0:
                tm.year = num + 100
                return n
            if num >= 70:
                tm.year = num
                return n
        if 0 < num < 13 and tm.mon < 0:
            tm.mon = num - 1
        return n

    def match_tz(self, pos: int) -> int:
        text = self.text
        hour, end = _strtol(text, pos + 1)
        n = end - (pos + 1)
        minute = 0
        if n == 4:
            minute, hour = hour % 100, hour // 100
        elif n != 2:
            minute = 99
        elif end < len(text) and text[end] == ":":
            minute, end = _strtol(text, end + 1)
            if end - (pos + 1) != 5:
                minute = 99
        if minute < 60 and hour < 24:
            offset = hour * 60 + minute
            self.offset = -offset if text[pos] == "-" else offset
        return end - pos


def _object_header_date(text: str) -> tuple[int, int] | None:
    """``@<epoch> +hhmm``: the raw form git stores in objects (match_object_header_date)."""
    if not _digit_at(text, 0):
        return None
    end = 0
    while end < len(text) and text[end] in _DIGITS:
        end += 1
    stamp = int(text[:end])
    if text[end:end + 1] != " " or text[end + 1:end + 2] not in ("+", "-") or stamp >= 2**63 - 1:
        return None
    start = end + 2
    ofs, stop = _strtol(text, start)
    if (stop < len(text) and text[stop] != "\n") or stop != start + 4:
        return None
    minutes = _cdiv(ofs, 100) * 60 + _cmod(ofs, 100)
    return stamp, -minutes if text[start - 1] == "-" else minutes


def parse_git_date(text: str, now: int) -> tuple[int, int] | None:
    """``(timestamp, offset_minutes)`` as git's parse_date() reads ``text``; None if git rejects it."""
    if text.startswith("@"):
        header = _object_header_date(text[1:])
        if header is not None:
            return header
    parser = _DateParser(text, now)
    pos = 0
    while pos < len(text) and text[pos] != "\n":
        c = text[pos]
        matched = 0
        if _isalpha(c):
            matched = parser.match_alpha(pos)
        elif c in _DIGITS:
            matched = parser.match_digit(pos)
        elif c in "+-" and _digit_at(text, pos + 1):
            matched = parser.match_tz(pos)
        pos += matched or 1  # git skips what it cannot read ("BAD CRAP")
    tm = parser.tm
    timestamp = _tm_to_time_t(tm)
    if timestamp == -1:
        return None
    offset = parser.offset
    if offset == -1:
        local = int(time.mktime((tm.year + 1900, tm.mon + 1, tm.mday, tm.hour, tm.min, tm.sec, 0, 0, -1)))
        offset = _cdiv(timestamp - local, 60) if timestamp > local else -_cdiv(local - timestamp, 60)
    if not parser.tm_gmt:
        timestamp -= offset * 60
    return timestamp, offset


def local_tz_offset_minutes(timestamp: int) -> int:
    """git's local_time_tzoffset(), in minutes east of UTC (+0000 outside 1970-2099)."""
    tm = _Tm()
    tm.set_from(time.localtime(timestamp))
    local = _tm_to_time_t(tm)
    if local == -1:
        return 0
    seconds = local - timestamp
    return _cdiv(seconds, 60)


@contextmanager
def _time_zone(env: Mapping[str, str]) -> Iterator[None]:
    """Use ``env``'s TZ for local-time conversions (git reads TZ from its environment)."""
    wanted, current = env.get("TZ"), os.environ.get("TZ")
    if wanted == current:
        yield
        return
    try:
        if wanted is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = wanted
        time.tzset()
        yield
    finally:
        if current is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = current
        time.tzset()


def _date(who: str, env: Mapping[str, str], now: int) -> tuple[int, int]:
    variable = f"GIT_{who.upper()}_DATE"
    raw = env.get(variable)
    if raw:
        parsed = parse_git_date(raw, now)
        if parsed is None:
            raise IdentityError(f"{variable}: invalid date format: {raw!r} (try '@1112911993 +0200' or ISO 8601)")
        timestamp, minutes = parsed
        if abs(minutes) // 60 > 99:  # git would write a malformed "+hhhmm"; refuse instead
            raise IdentityError(f"{variable}: time-zone offset out of range in {raw!r}")
        return timestamp, minutes * 60
    return now, local_tz_offset_minutes(now) * 60


def resolve_identities(config: GitConfig, env: Mapping[str, str] | None = None,
                       now: float | None = None) -> tuple[Identity, Identity]:
    """``(author, committer)`` for a commit made now, as ``git commit`` would record them."""
    environ = os.environ if env is None else env
    cfg = _read_ident_config(config)
    current = int(time.time() if now is None else now)
    result: list[Identity] = []
    with _time_zone(environ):
        for who in ("author", "committer"):
            email = _resolve_email(who, cfg, environ)
            name = _resolve_name(who, email, cfg, environ)
            timestamp, offset = _date(who, environ, current)
            result.append(Identity(_without_crud(name), _without_crud(email), timestamp, offset))
    return result[0], result[1]
