"""Drawing a connector's icon: the brand's mark from Simple Icons when it has one, else a lettermark.

Used by scripts/make_icons.py and `manage.py add_connector`, never by a running page (the pages only
read the SVG files). The brand marks come from the `simplepycons` package (the `tools` extra: the
Simple Icons data, CC0); without it every icon is a lettermark tile.

Both kinds are a rounded tile in the catalogue's colour, so the catalogue looks of a piece, with a
mark or letters in white or near-black, whichever is readable on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

DARK = "#1a1a1a"
SVG_NS = "{http://www.w3.org/2000/svg}"
# Written into every icon drawn here, so a later run may replace a lettermark by a brand mark
# without ever touching an icon someone made by hand.
DRAWN_MARK = "drawn by scripts/make_icons.py"
TILE = 64
BRAND_GLYPH = "data-brand-mark"  # the attribute that tells a brand mark from a lettermark
GLYPH = 36  # the brand mark's size inside the tile


@dataclass(frozen=True)
class BrandMark:
    slug: str
    title: str
    path: str  # the SVG path data, on Simple Icons' 24 x 24 grid


def lettermark(name: str) -> str:
    """Initials of the first two words; for one word, its camel-case humps ("HubSpot" -> "HS")."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", name) if word]
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    word = words[0]
    hump = re.search(r"[A-Z](?=[a-z])", word[1:])
    return (word[0] + hump.group(0)).upper() if hump else word[0].upper()


def foreground(background: str) -> str:
    """White unless it would fail a 3:1 contrast on this background (WCAG large text and graphics)."""
    channels = [int(background[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#ffffff" if 1.05 / (luminance + 0.05) >= 3 else DARK


def _open(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {TILE} {TILE}" width="{TILE}" height="{TILE}" role="img">\n'
        f"  <!-- {DRAWN_MARK} -->\n"
        f"  <title>{escape(title)}</title>\n"
    )


def lettermark_svg(title: str, background: str) -> str:
    letters = lettermark(title)
    size = 30 if len(letters) == 1 else 24
    return (
        _open(title)
        + f'  <rect width="{TILE}" height="{TILE}" rx="14" fill="{background}"/>\n'
        + f'  <text x="32" y="32" dy="0.35em" text-anchor="middle" fill="{foreground(background)}" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif" '
        f'font-size="{size}" font-weight="700">{escape(letters)}</text>\n'
        "</svg>\n"
    )


def brand_svg(title: str, mark: BrandMark, background: str) -> str:
    offset = (TILE - GLYPH) / 2
    scale = GLYPH / 24
    return (
        _open(title)
        + f'  <rect width="{TILE}" height="{TILE}" rx="14" fill="{background}"/>\n'
        + f'  <path {BRAND_GLYPH}="" transform="translate({offset:g} {offset:g}) scale({scale:g})" fill="{foreground(background)}" '
        f"d={quoteattr(mark.path)}/>\n"
        "</svg>\n"
    )


def generic_svg() -> str:
    # A plug on a neutral tile: "some connector", without pretending to be any vendor.
    return (
        _open("Connector")
        + '  <rect width="64" height="64" rx="14" fill="#64748b"/>\n'
        '  <g fill="none" stroke="#ffffff" stroke-width="4" stroke-linecap="round" stroke-linejoin="round">\n'
        '    <path d="M25 14v10M39 14v10"/>\n'
        '    <path d="M19 24h26v8a13 13 0 0 1-26 0z"/>\n'
        '    <path d="M32 45v7"/>\n'
        "  </g>\n"
        "</svg>\n"
    )


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.casefold()))


def _candidates(service_id: str, name: str) -> list[str]:
    """Simple Icons slugs to try, most specific first: the id ("google_ads" -> "googleads"), the
    name, then the id with trailing words dropped ("facebook_ads" -> "facebook")."""
    parts = service_id.split("_")
    slugs = ["".join(parts), re.sub(r"[^a-z0-9]", "", name.casefold())]
    slugs += ["".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)]
    return list(dict.fromkeys(slug for slug in slugs if slug))


def find_brand_mark(service_id: str, name: str) -> BrandMark | None:
    """The brand's mark, when Simple Icons has the brand and `simplepycons` is installed."""
    try:
        import simplepycons
    except ImportError:
        return None
    icons = simplepycons.all_icons
    known = set(icons.names())
    for slug in _candidates(service_id, name):
        if slug not in known:
            continue
        icon = icons[slug]
        # A slug can belong to another brand that happens to share it: the titles must share a word.
        if not _words(icon.title) & _words(name):
            continue
        path = _single_path(icon.svg_tree())
        if path:
            return BrandMark(slug=slug, title=icon.title, path=path)
    return None


def brand_colour(service_id: str, name: str) -> str | None:
    """The brand's own colour from Simple Icons ("#rrggbb", lower case), for a new catalogue entry."""
    try:
        import simplepycons
    except ImportError:
        return None
    mark = find_brand_mark(service_id, name)
    if mark is None:
        return None
    colour = simplepycons.all_icons[mark.slug].primary_color
    return colour.lower() if re.fullmatch(r"#[0-9a-fA-F]{6}", colour or "") else None


def _single_path(tree: ElementTree.Element) -> str | None:
    paths = [element.get("d") for element in tree.iter() if element.tag in ("path", f"{SVG_NS}path")]
    return " ".join(" ".join(path.split()) for path in paths if path) or None


def drawn_here(path: Path) -> bool:
    """True for an icon this module drew (or the lettermarks it drew before it said so)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return DRAWN_MARK in text or ("<text " in text and "<rect " in text and "<path" not in text)


def draw(service_id: str, name: str, colour: str) -> tuple[str, str]:
    """(svg, "brand" | "lettermark") for a service."""
    mark = find_brand_mark(service_id, name)
    if mark is not None:
        return brand_svg(name, mark, colour), "brand"
    return lettermark_svg(name, colour), "lettermark"


def write_icon(target: Path, service_id: str, name: str, colour: str, *, force: bool = False) -> str | None:
    """Write the service's icon unless a better or hand-made one is there; what was written, or None.

    An existing icon is replaced when `force`, or when it is a lettermark drawn here and a brand
    mark is now available.
    """
    svg, kind = draw(service_id, name, colour)
    if target.exists() and not force:
        upgrade = kind == "brand" and drawn_here(target) and BRAND_GLYPH not in target.read_text(encoding="utf-8")
        if not upgrade:
            return None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(svg, encoding="utf-8")
    return kind
