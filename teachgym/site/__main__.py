"""``python -m teachgym.site build OUT_DIR [--strict]``: build the documentation site into OUT_DIR."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from teachgym.errors import TeachgymError
from teachgym.site.build import build


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m teachgym.site", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the site (generated environment pages and the tutorial)")
    p.add_argument("out_dir", help="folder for the built site; open OUT_DIR/index.html")
    p.add_argument("--strict", action="store_true", help="fail on any MkDocs warning (broken links too)")
    args = parser.parse_args(argv)
    try:
        index = build(args.out_dir, strict=args.strict)
    except (TeachgymError, OSError) as error:
        print(f"teachgym.site: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
