"""Write an icon for every catalogue service: the brand's mark where Simple Icons has the brand,
else a lettermark tile (and the generic fallback icon). The drawing is connectors/icons.py.

Brand marks need the `tools` extra (`pip install -e '.[tools]'`, which `make setup` does); without it
every icon is a lettermark. An existing icon is kept, except a lettermark drawn here when a brand
mark has become available; `--force` redraws them all (hand-made icons too).
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors import icons  # noqa: E402
from connectors.catalogue import DEFAULT_PATH, GENERIC_ICON, load_catalogue  # noqa: E402

STATIC = ROOT / "static"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="redraw icons that already exist")
    args = parser.parse_args()

    written = {"brand": 0, "lettermark": 0}
    for service in load_catalogue(DEFAULT_PATH):
        kind = icons.write_icon(STATIC / service.icon_path, service.id, service.name, service.color, force=args.force)
        if kind:
            written[kind] += 1
    generic = STATIC / GENERIC_ICON
    if args.force or not generic.exists():
        generic.write_text(icons.generic_svg())
    print(f"{written['brand']} brand mark(s) and {written['lettermark']} lettermark(s) written")


if __name__ == "__main__":
    main()
