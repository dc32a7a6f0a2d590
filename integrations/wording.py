"""Wording of the messages people read on the set-up page."""


def counted(count: int, noun: str) -> str:
    """'1 table', '2 tables'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
