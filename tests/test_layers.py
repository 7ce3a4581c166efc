"""The layer contract (DESIGN §1): which of our packages each package may import, read from every module's source
with `ast` (tests/imports.py).

- `domain` imports nothing of ours outside domain (and no I/O library: tests/domain/test_purity.py);
- `store`: domain and mauntic (settings, secrets, keys) — never api, nor the Temporal side;
- `workflows`: domain and contracts (workflow code stays deterministic, DESIGN §2);
- `activities`: domain, store, mauntic and contracts;
- `dispatch` (journey dispatch, leaving api/): domain, store, mauntic and contracts;
- `api`: domain, store, mauntic and contracts: no activity, workflow or dispatch code, which runs in the worker;
- `mauntic` (settings, Temporal client, CLI): anything but api and the tools;
- `worker`, `bench`, `drills`, `tests`: composition roots and tools, free to import anything.

A contract is what a package shows the others: names, inputs and outputs, none of the code that does the work.
Concretely, a module called `contracts` (activities/<context>/contracts.py; dispatch/contracts.py or
dispatch/<context>/contracts.py when it has them) and the modules in NAMED_CONTRACTS. A contract imports nothing of
ours but domain and other contracts, so importing one never pulls in the code behind it. Workflow names, ids and
inputs live in domain/<context>/runtime.py, which every layer may import already.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.imports import Import, imports_of, module_name

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Rule:
    may_import: frozenset[str]  # our top-level packages
    contracts: bool = False  # also the contracts of any package

    def describe(self) -> str:
        allowed = sorted(self.may_import)
        return ", ".join(allowed) + (" and contracts" if self.contracts else "")


LAYERED = ("domain", "store", "workflows", "activities", "dispatch", "api", "mauntic")
FREE = frozenset({"worker", "bench", "drills", "tests"})
RULES: dict[str, Rule] = {
    "domain": Rule(frozenset({"domain"})),
    "store": Rule(frozenset({"store", "domain", "mauntic"})),
    "workflows": Rule(frozenset({"workflows", "domain"}), contracts=True),
    "activities": Rule(frozenset({"activities", "domain", "store", "mauntic"}), contracts=True),
    "dispatch": Rule(frozenset({"dispatch", "domain", "store", "mauntic"}), contracts=True),
    "api": Rule(frozenset({"api", "domain", "store", "mauntic"}), contracts=True),
    "mauntic": Rule(frozenset({*LAYERED, "worker"} - {"api"}), contracts=True),
}
CONTRACT_RULE = Rule(frozenset({"domain"}), contracts=True)
# Contracts not called `contracts`: the search attributes journeys are started with (and their registration).
NAMED_CONTRACTS = frozenset({"workflows.search_attributes"})
# What api must never load, even through a package it may import (a module of mauntic importing the worker ...).
WORKER_SIDE = frozenset({"activities", "workflows", "dispatch", "worker"})


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool

    @property
    def package(self) -> str:
        return self.name.split(".")[0]


def our_modules(root: Path = ROOT) -> dict[str, Module]:
    """Every module of every top-level package (a directory with an __init__.py) and the top-level modules."""
    paths = [p for p in root.glob("*.py") if not p.name.startswith(".")]
    for top in sorted(root.iterdir()):
        if top.is_dir() and not top.name.startswith(".") and (top / "__init__.py").exists():
            paths.extend(top.rglob("*.py"))
    found = (Module(module_name(p, root), p, p.name == "__init__.py") for p in sorted(paths))
    return {module.name: module for module in found}


def is_contract(name: str) -> bool:
    return name in NAMED_CONTRACTS or name.rsplit(".", 1)[-1] == "contracts"


def rule_of(importer: str) -> Rule | None:
    """None: the importer may import anything."""
    package = importer.split(".")[0]
    if package in FREE:
        return None
    if is_contract(importer):
        return CONTRACT_RULE
    return RULES.get(package, Rule(frozenset({package})))  # a package with no rule yet: see the test below


def violation(importer: str, imported: str, ours: frozenset[str]) -> str | None:
    """Why `importer` may not import `imported` (both dotted names), or None when it may."""
    target = imported.split(".")[0]
    rule = rule_of(importer)
    if rule is None or target not in ours or target in rule.may_import or (rule.contracts and is_contract(imported)):
        return None
    kind = "a contract" if rule is CONTRACT_RULE else importer.split(".")[0]
    return f"imports {imported}: {kind} may import only {rule.describe()} of ours"


def violations_in(module: Module, source: str, known: dict[str, Module]) -> list[str]:
    ours = frozenset({m.package for m in known.values()} | RULES.keys() | FREE)
    where = module.path.relative_to(ROOT) if module.path.is_relative_to(ROOT) else module.path
    found = []
    for imp in imports_of(source, module.name, is_package=module.is_package, modules=known):
        if (why := violation(module.name, imp.module, ours)) is not None:
            found.append(f"{where}:{imp.line} {why}")
    return found


def graph(known: dict[str, Module]) -> dict[str, set[str]]:
    """Module -> the modules of ours it loads: what it imports, and the packages around each (their __init__)."""
    edges: dict[str, set[str]] = {}
    for module in known.values():
        imported = imports_of(module.path.read_text(encoding="utf-8"), module.name, is_package=module.is_package)
        edges[module.name] = {loaded for imp in imported for loaded in _loaded(imp, known)}
    return edges


def _loaded(imp: Import, known: dict[str, Module]) -> set[str]:
    parts = imp.module.split(".")
    return {name for length in range(1, len(parts) + 1) if (name := ".".join(parts[:length])) in known}


def worker_side_reached_from(package: str, known: dict[str, Module]) -> list[str]:
    """Chains from a module of `package` to worker-side code (anything of WORKER_SIDE but contracts and the
    packages' empty __init__ files), following every import of ours."""
    edges = graph(known)
    sources = [name for name, module in known.items() if module.package == package]
    parent: dict[str, str | None] = dict.fromkeys(sources)
    queue = deque(sources)
    chains = []
    while queue:
        current = queue.popleft()
        module = known[current]
        if module.package in WORKER_SIDE and not is_contract(current) and not module.is_package:
            chain, step = [current], parent[current]
            while step is not None:
                chain.append(step)
                step = parent[step]
            chains.append(" -> ".join(reversed(chain)))
            continue
        for loaded in sorted(edges[current] - parent.keys()):
            parent[loaded] = current
            queue.append(loaded)
    return chains


@pytest.fixture(scope="module")
def known() -> dict[str, Module]:
    modules = our_modules()
    assert {"domain", "api", "store", "activities", "workflows"} <= {m.package for m in modules.values()}
    return modules


def test_every_package_has_a_layer_rule(known: dict[str, Module]) -> None:
    packages = {m.package for m in known.values()}
    assert packages - RULES.keys() - FREE == set(), "add the new package to RULES (or FREE) in tests/test_layers.py"


def test_every_module_imports_only_what_its_layer_may(known: dict[str, Module]) -> None:
    found = [
        problem
        for module in known.values()
        for problem in violations_in(module, module.path.read_text(encoding="utf-8"), known)
    ]

    assert found == []


def test_the_named_contracts_exist(known: dict[str, Module]) -> None:
    assert NAMED_CONTRACTS <= known.keys()


def test_the_api_loads_no_worker_side_code_even_through_other_packages(known: dict[str, Module]) -> None:
    assert worker_side_reached_from("api", known) == []


def fake(known: dict[str, Module], *names: str) -> dict[str, Module]:
    """The real modules plus made-up ones (e.g. of `dispatch`, which is not in the tree yet)."""
    return {**known, **{name: Module(name, ROOT / (name.replace(".", "/") + ".py"), False) for name in names}}


@pytest.mark.parametrize(
    ("importer", "source"),
    [
        ("api.routes.fake", "from activities.sending_domains.checker import SendingDomainChecker"),
        ("api.fake", "import workflows.journey"),
        ("api.fake", "from workflows import journey"),
        ("api.fake", "import activities"),
        ("api.fake", "def f():\n    from worker import build_worker\n"),
        ("api.fake", "from dispatch.outbox import drain"),
        ("api.fake", "from tests.conftest import make_settings"),
        ("domain.fake", "from store.models import Contact"),
        ("domain.fake", "from mauntic.settings import Settings"),
        ("domain.fake", "from activities.journeys.contracts import SEND_JOURNEY_EMAIL"),
        ("store.fake", "from api.errors import NotFound"),
        ("store.fake", "from activities.delivery.service import Delivery"),
        ("store.fake", "from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES"),
        ("workflows.fake", "from store.models import Contact"),
        ("workflows.fake", "from mauntic.settings import Settings"),
        ("activities.journeys.contracts", "from activities.journeys.email import JourneyEmailActivities"),
        ("activities.fake", "from api.errors import NotFound"),
        ("dispatch.fake", "from api.errors import NotFound"),
        ("dispatch.fake", "from workflows.journey import JourneyWorkflow"),
        ("mauntic.fake", "import api.app"),
        ("newpackage.fake", "from store import db"),
    ],
)
def test_the_checker_flags_imports_across_the_contract(known: dict[str, Module], importer: str, source: str) -> None:
    module = Module(importer, ROOT / (importer.replace(".", "/") + ".py"), False)

    assert violations_in(module, source, fake(known, "dispatch.outbox", "dispatch.contracts")) != []


@pytest.mark.parametrize(
    ("importer", "source"),
    [
        ("api.fake", "from activities.journeys.contracts import RESEND_MESSAGE_WORKFLOW"),
        ("api.fake", "from activities.journeys import contracts"),
        ("api.fake", "from workflows.search_attributes import initial_search_attributes"),
        ("api.fake", "from dispatch.contracts import DispatchRequest"),
        ("api.fake", "from domain.ids import new_id\nfrom store import messages\nfrom mauntic import settings"),
        ("api.routes.fake", "from . import health\nfrom ..errors import NotFound"),
        ("api.fake", "import httpx\nfrom temporalio.client import Client"),
        ("domain.fake", "from domain.ids import new_id\nfrom .clock import utcnow"),
        ("store.fake", "from domain.ids import new_id\nfrom mauntic.secrets import SecretBox"),
        ("workflows.fake", "from activities.sending_domains.contracts import CHECK_SENDING_DOMAIN"),
        ("activities.fake", "from store.models import Contact\nfrom activities.journeys.contracts import X"),
        ("dispatch.fake", "from store.events import Event\nfrom workflows.search_attributes import X"),
        ("activities.journeys.contracts", "from domain.journeys.definition import JourneyDefinition"),
        ("mauntic.fake", "import worker"),
        ("worker", "from activities.delivery.service import Delivery"),
        ("tests.fake", "from api.app import create_app\nfrom activities.delivery import chain"),
    ],
)
def test_the_checker_accepts_imports_the_contract_allows(known: dict[str, Module], importer: str, source: str) -> None:
    module = Module(importer, ROOT / (importer.replace(".", "/") + ".py"), importer.endswith("__init__"))

    assert violations_in(module, source, fake(known, "dispatch.outbox", "dispatch.contracts")) == []


def test_a_violation_names_the_file_the_line_and_the_module(known: dict[str, Module]) -> None:
    module = Module("api.routes.fake", ROOT / "api" / "routes" / "fake.py", False)
    source = "from api.errors import NotFound\nfrom activities.sending_domains.resolver import DnsResolver\n"

    assert violations_in(module, source, known) == [
        "api/routes/fake.py:2 imports activities.sending_domains.resolver: "
        "api may import only api, domain, mauntic, store and contracts of ours"
    ]


def test_the_api_reaching_worker_code_through_an_allowed_package_is_found(tmp_path: Path) -> None:
    for path, source in {
        "api/__init__.py": "",
        "api/routes.py": "from mauntic.helpers import helper\nfrom activities.journeys.contracts import X\n",
        "mauntic/__init__.py": "",
        "mauntic/helpers.py": "def helper():\n    import worker\n",
        "activities/__init__.py": "",
        "activities/journeys/__init__.py": "",
        "activities/journeys/contracts.py": "from domain.ids import new_id\n",
        "activities/journeys/email.py": "",
        "domain/__init__.py": "",
        "domain/ids.py": "",
        "worker.py": "from activities.journeys import email\n",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)

    assert worker_side_reached_from("api", our_modules(tmp_path)) == ["api.routes -> mauntic.helpers -> worker"]
