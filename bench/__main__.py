"""Run every benchmark module's main(), in name order; `python -m bench NAME...` runs only those."""

import importlib
import pkgutil
import sys

import bench


def main(argv: list[str]) -> int:
    names = sorted(info.name for info in pkgutil.iter_modules(bench.__path__) if not info.name.startswith("_"))
    wanted = argv or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        if callable(getattr(module, "main", None)):
            print(f"== bench.{name}", flush=True)
            # Each bench reads its own options from the environment or the defaults, not our argv.
            sys.argv = [f"bench.{name}"]
            module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
