"""Ids shaped like Fivetran's older ones: two words joined by an underscore (§1.6)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

ADJECTIVES = (
    "amber brisk calm dapper eager fancy gentle hollow icy jolly keen lively mellow nimble olive plush quiet"
    " rapid sunny tidal upbeat vivid woven young zesty"
).split()
NOUNS = (
    "anchor beacon canyon delta ember falcon garnet harbor island juniper kettle lantern meadow nectar orchard"
    " pebble quarry river summit thicket umber valley willow yarrow zephyr"
).split()


def new_id(taken: Callable[[str], bool]) -> str:
    while True:
        candidate = f"{secrets.choice(ADJECTIVES)}_{secrets.choice(NOUNS)}"
        if not taken(candidate):
            return candidate
        # Fall back to a suffix once the small word space gets crowded.
        candidate = f"{candidate}_{secrets.token_hex(3)}"
        if not taken(candidate):
            return candidate
