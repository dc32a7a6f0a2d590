"""Draw a lettermark icon for every catalogue service that has none (and the generic fallback).

Honest placeholders, not vendor artwork: a rounded square in the service colour with one or two
letters. Run `python scripts/make_icons.py` after adding services; `--force` redraws all of them.
"""

import argparse
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.catalogue import DEFAULT_PATH, GENERIC_ICON, load_catalogue  # noqa: E402

STATIC = ROOT / "static"
DARK_TEXT = "#1a1a1a"


def lettermark(name: str) -> str:
    """Initials of the first two words; for one word, its camel-case humps ("HubSpot" -> "HS")."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", name) if word]
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    word = words[0]
    hump = re.search(r"[A-Z](?=[a-z])", word[1:])
    return (word[0] + hump.group(0)).upper() if hump else word[0].upper()


def text_colour(background: str) -> str:
    """White letters unless they would fail a 3:1 contrast on this background (WCAG large text)."""
    channels = [int(background[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#ffffff" if 1.05 / (luminance + 0.05) >= 3 else DARK_TEXT


def svg(title: str, letters: str, background: str, foreground: str) -> str:
    size = 30 if len(letters) == 1 else 24
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" role="img">\n'
        f"  <title>{escape(title)}</title>\n"
        f'  <rect width="64" height="64" rx="14" fill="{background}"/>\n'
        f'  <text x="32" y="32" dy="0.35em" text-anchor="middle" fill="{foreground}" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif" '
        f'font-size="{size}" font-weight="700">{escape(letters)}</text>\n'
        "</svg>\n"
    )


def generic_svg() -> str:
    # A plug on a neutral tile: "some connector", without pretending to be any vendor.
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" role="img">\n'
        "  <title>Connector</title>\n"
        '  <rect width="64" height="64" rx="14" fill="#64748b"/>\n'
        '  <g fill="none" stroke="#ffffff" stroke-width="4" stroke-linecap="round" stroke-linejoin="round">\n'
        '    <path d="M25 14v10M39 14v10"/>\n'
        '    <path d="M19 24h26v8a13 13 0 0 1-26 0z"/>\n'
        '    <path d="M32 45v7"/>\n'
        "  </g>\n"
        "</svg>\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="redraw icons that already exist")
    args = parser.parse_args()

    written = 0
    for service in load_catalogue(DEFAULT_PATH):
        target = STATIC / service.icon_path
        if target.exists() and not args.force:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(svg(service.name, lettermark(service.name), service.color, text_colour(service.color)))
        written += 1
    generic = STATIC / GENERIC_ICON
    if args.force or not generic.exists():
        generic.write_text(generic_svg())
        written += 1
    print(f"{written} icon(s) written")


if __name__ == "__main__":
    main()
