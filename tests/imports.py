"""What a source file imports, read with `ast` (nothing is imported or executed): shared by the layer-contract test
(tests/test_layers.py) and domain's purity test (tests/domain/test_purity.py)."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    module: str  # dotted name of what is imported
    line: int


def module_name(path: Path, root: Path) -> str:
    """`api/routes/x.py` is api.routes.x, `api/routes/__init__.py` is api.routes, `worker.py` is worker."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(
    source: str, module: str = "", *, is_package: bool = False, modules: Collection[str] | None = None
) -> list[Import]:
    """Every module `source` imports, wherever the statement is (a function body, `if TYPE_CHECKING:`). Relative
    imports are resolved against `module` (the importing module's name; `is_package` when it is an __init__).
    `from a import b` names a.b when `modules` (every known module) holds it, else a; without `modules`, both."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            found.extend(Import(name, node.lineno) for name in _from_names(base, node, modules))
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    keep = len(package) - (node.level - 1)  # `from .` is the package itself, each further dot one level up
    if not module or keep < 1:
        raise ValueError(f"relative import beyond the top-level package in {module or 'a module of no package'}")
    anchor = package[:keep]
    return ".".join([*anchor, node.module] if node.module else anchor)


def _from_names(base: str, node: ast.ImportFrom, modules: Collection[str] | None) -> Iterator[str]:
    if modules is None:
        yield base
        yield from (f"{base}.{alias.name}" for alias in node.names)
        return
    submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
    yield from submodules
    if len(submodules) < len(node.names):  # some names are attributes of `base` itself
        yield base
