"""Reading imports with `ast` (tests/imports.py), which the layer and purity tests rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imports import Import, imports_of, module_name


def test_relative_imports_resolve_against_the_importing_module() -> None:
    source = "from . import a\nfrom .b import c\nfrom .. import d\nfrom ..e.f import g\n"

    assert [i.module for i in imports_of(source, "api.routes.x")] == [
        "api.routes", "api.routes.a", "api.routes.b", "api.routes.b.c", "api", "api.d", "api.e.f", "api.e.f.g",
    ]  # fmt: skip
    assert [i.module for i in imports_of("from . import a", "api.routes", is_package=True)] == [
        "api.routes",
        "api.routes.a",
    ]


def test_from_imports_name_the_submodule_when_it_is_one() -> None:
    known = {"store", "store.db", "store.models"}

    found = imports_of("from store import db, models\nfrom store.db import session_factory\n", "api.x", modules=known)

    assert found == [Import("store.db", 1), Import("store.models", 1), Import("store.db", 2)]


def test_imports_in_function_bodies_count_and_a_relative_import_past_the_top_is_refused() -> None:
    assert [i.module for i in imports_of("def f():\n    import worker\n")] == ["worker"]
    with pytest.raises(ValueError, match="beyond the top-level package"):
        imports_of("from ... import x", "api.routes")


def test_module_names() -> None:
    root = Path("/r")
    assert module_name(root / "api" / "routes" / "x.py", root) == "api.routes.x"
    assert module_name(root / "api" / "routes" / "__init__.py", root) == "api.routes"
    assert module_name(root / "worker.py", root) == "worker"
