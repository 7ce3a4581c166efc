"""Every table holding a contact id is in the merge registry, with columns that exist."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import Table
from sqlmodel import SQLModel

import store
from store.contact_owned import CONTACT_OWNED, CONTACT_OWNED_BY_TABLE

NOT_OWNED = {"contact"}  # the contact itself


def _tables() -> dict[str, Table]:
    for module in pkgutil.iter_modules(store.__path__):
        if module.name.startswith("models"):
            importlib.import_module(f"store.{module.name}")
    return dict(SQLModel.metadata.tables)


def test_every_table_with_a_contact_id_is_registered() -> None:
    with_contact = {name for name, table in _tables().items() if "contact_id" in table.c} - NOT_OWNED
    missing = with_contact - set(CONTACT_OWNED_BY_TABLE)
    assert not missing, f"add these tables to store/contact_owned.py CONTACT_OWNED: {sorted(missing)}"


def test_registry_names_existing_columns_once() -> None:
    tables = _tables()
    assert len(CONTACT_OWNED_BY_TABLE) == len(CONTACT_OWNED)
    for entry in CONTACT_OWNED:
        table = tables[entry.table]
        for column in (entry.contact_column, *entry.key, *entry.unique_with):
            assert column in table.c, (entry.table, column)
        assert entry.contact_column not in entry.key
        key = {c.name for c in table.primary_key}
        assert key <= {*entry.key, entry.contact_column}, entry.table
