"""Wording of the messages people read on the set-up page and in a connection's history."""

import re


def counted(count: int, noun: str) -> str:
    """'1 table', '2 tables'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


# A leading exception class, as Fivetran's reasons often start ("java.lang.RuntimeException: ..."):
# words for developers, not for the person reading why a sync failed.
_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*(?:Exception|Error)\s*:\s*")


def plain_reason(reason: str) -> str:
    """Fivetran's reason in plain words: its first line (a stack trace may follow), without the
    exception class it may start with. Fivetran's own words otherwise, never replaced by ours."""
    first_line = (reason or "").strip().splitlines()[0].strip() if (reason or "").strip() else ""
    return _EXCEPTION_PREFIX.sub("", first_line) or first_line
