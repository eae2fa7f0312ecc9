"""Render a file of the `deploy/` kit: `python -m scripts.render_deploy TEMPLATE [NAME=VALUE …]`.

The kit's templates hold `${UPPER_NAME}` placeholders (nginx's own `$host`, `$remote_addr`…
have no braces and are left alone). Each is filled from a NAME=VALUE argument, else from the
environment; a placeholder with neither is an error, so a half-rendered file never reaches
`/etc`. `envsubst` would do the same, but it silently empties a name it does not know and
would eat nginx's variables unless each name were listed.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class MissingValue(KeyError):
    """A template names a placeholder that no value was given for."""


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with every `${NAME}` replaced by `values[NAME]`; MissingValue names the first
    that has none."""
    missing = sorted(placeholders(text) - set(values))
    if missing:
        raise MissingValue(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def render_file(template: Path, values: Mapping[str, str]) -> str:
    return render(template.read_text(), values)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    values = dict(os.environ)
    for pair in argv[1:]:
        name, sep, value = pair.partition("=")
        if not sep:
            print(f"render_deploy: {pair!r} is not NAME=VALUE", file=sys.stderr)
            return 2
        values[name] = value
    try:
        sys.stdout.write(render_file(Path(argv[0]), values))
    except MissingValue as exc:
        print(f"render_deploy: {argv[0]}: {exc.args[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
