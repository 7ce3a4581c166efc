"""domain/ stays pure: no I/O library, framework or outer layer may be imported anywhere under it. Which of our
packages every other package may import is the layer contract, tests/test_layers.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.imports import imports_of, module_name

DOMAIN = Path(__file__).resolve().parents[2] / "domain"

# Matched against the full dotted name and each of its parents, so "sqlalchemy.orm" is caught by "sqlalchemy".
FORBIDDEN = frozenset(
    {
        # frameworks, persistence, Temporal
        "sqlmodel",
        "sqlalchemy",
        "alembic",
        "fastapi",
        "starlette",
        "uvicorn",
        "temporalio",
        "psycopg",
        "psycopg2",
        "aiosqlite",
        "sqlite3",
        "redis",
        # network and processes
        "httpx",
        "requests",
        "aiohttp",
        "urllib3",
        "urllib.request",
        "http.client",
        "http.server",
        "socket",
        "ssl",
        "smtplib",
        "aiosmtplib",
        "dns",
        "subprocess",
        "asyncio.subprocess",
        "multiprocessing",
        "ftplib",
        "telnetlib",
        # the outer layers of this project
        "api",
        "store",
        "activities",
        "workflows",
        "worker",
        "mauntic",
    }
)
# Beyond the standard library, only these may be imported (DESIGN: domain depends on stdlib and pydantic).
# `holidays`: public-holiday rules as pure computation (no data files, no network), like zoneinfo;
# `phonenumbers`: libphonenumber's parsing and E.164 formatting, metadata in the package, no I/O;
# `orjson`: JSON parsing and serialisation in C, no I/O (domain/audit/chain.py verifies with it);
# `email_validator`: address syntax only (domain/imports/normalize.py passes check_deliverability=False: no DNS).
ALLOWED_THIRD_PARTY = frozenset(
    {
        "domain",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_extensions",
        "liquid",
        "holidays",
        "phonenumbers",
        "email_validator",
        "orjson",
    }
)


def violations(source: str, module: str = "domain.example", *, is_package: bool = False) -> list[str]:
    """`from a import b` is checked as a and as a.b; relative imports resolve inside domain."""
    found = []
    for name in (imp.module for imp in imports_of(source, module, is_package=is_package)):
        parts = name.split(".")
        prefixes = {".".join(parts[:length]) for length in range(1, len(parts) + 1)}
        if prefixes & FORBIDDEN:
            found.append(f"{name} (forbidden)")
        elif parts[0] not in sys.stdlib_module_names and parts[0] not in ALLOWED_THIRD_PARTY:
            found.append(f"{name} (not stdlib or an allowed pure library)")
    return found


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_domain_imports_no_io_or_framework_modules() -> None:
    modules = domain_modules()
    assert len(modules) >= 3, f"domain/ not found at {DOMAIN}"

    found = {
        str(path.relative_to(DOMAIN.parent)): problems
        for path in modules
        if (
            problems := violations(
                path.read_text(encoding="utf-8"),
                module_name(path, DOMAIN.parent),
                is_package=path.name == "__init__.py",
            )
        )
    }

    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "import httpx",
        "import sqlalchemy.orm as orm",
        "from sqlmodel import Field",
        "from temporalio import workflow",
        "from urllib.request import urlopen",
        "from urllib import request",
        "from asyncio import subprocess",
        "import dns.resolver",
        "def f():\n    import socket\n",
        "from store.models import Contact",
        "import numpy",
    ],
)
def test_the_checker_flags_impure_imports(source: str) -> None:
    assert violations(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "from urllib.parse import quote",
        "from pydantic import BaseModel",
        "from domain.ids import new_id",
        "from . import runtime",
        "from liquid import Environment",
        "from datetime import UTC, datetime",
    ],
)
def test_the_checker_accepts_pure_imports(source: str) -> None:
    assert violations(source) == []
