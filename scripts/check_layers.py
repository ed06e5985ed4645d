"""Fail when a lower layer imports a higher one: nbaprops < governance < jobs.

Usage: python scripts/check_layers.py [ROOT]; prints each offending import and exits 1.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LAYERS: tuple[str, ...] = ("nbaprops", "governance", "jobs")


def violations(root: Path) -> list[str]:
    """One line per import of a higher layer from a lower one, as path:line: module -> target."""
    found: list[str] = []
    for rank, layer in enumerate(LAYERS):
        higher = LAYERS[rank + 1 :]
        for path in sorted((root / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    targets = [node.module]
                else:
                    continue
                for target in targets:
                    if target.split(".")[0] in higher:
                        where = path.relative_to(root)
                        found.append(f"{where}:{node.lineno}: {layer} imports {target}")
    return found


def main(argv: list[str]) -> int:
    found = violations(Path(argv[1]) if len(argv) > 1 else Path.cwd())
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
