"""The master secret key: configured, or generated once into the data dir and shared by every process."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mauntic.secrets import SecretBox
from mauntic.settings import Settings


def test_a_configured_key_is_used_as_is(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40)
    assert settings.resolved_secret_key() == "k" * 40
    assert not (tmp_path / "secret.key").exists()


def test_without_a_key_one_is_generated_once_readable_by_the_owner_only(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "data", secret_key="").resolved_secret_key()
    second = Settings(data_dir=tmp_path / "data", secret_key="").resolved_secret_key()
    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "data" / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert SecretBox(second).decrypt(SecretBox(first).encrypt("provider secret")) == "provider secret"


def test_processes_starting_together_agree_on_the_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: settings.resolved_secret_key(), range(32)))
    assert len(keys) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]
