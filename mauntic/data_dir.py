"""Where the CLI finds the embedded stack's data, whatever directory it is run from.

`mauntic dev` keeps its state in `.mauntic/` under the directory it was started in. A CLI command run from
elsewhere used to resolve `.mauntic` against its own working directory, silently create a second, empty database
there and print keys the running API had never heard of. Now, unless `MAUNTIC_DATA_DIR` (or
`MAUNTIC_DATABASE_URL`) says where, the CLI looks, in order:

1. for `.mauntic/` in the working directory and each of its parents (as git finds `.git`);
2. at the data dir the last `mauntic dev` on this machine recorded (`$XDG_STATE_HOME/mauntic/data-dir`, by
   default `~/.local/state/mauntic/data-dir`), if it still holds a database.

The chosen directory is exported as an absolute `MAUNTIC_DATA_DIR`, so the API and worker that `dev` starts agree.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

NAME = ".mauntic"
DATABASE_FILE = "mauntic.db"
ENV = "MAUNTIC_DATA_DIR"


class NoDataDir(Exception):
    """No data dir was configured and none could be found."""


def _state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mauntic" / "data-dir"


def _holds_data(directory: Path) -> bool:
    return (directory / DATABASE_FILE).is_file()


def find_upwards(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / NAME
        if candidate.is_dir():
            return candidate.resolve()
    return None


def last_used() -> Path | None:
    """The data dir recorded by the last `mauntic dev`, when it still holds a database."""
    with contextlib.suppress(OSError, ValueError):
        recorded = Path(_state_file().read_text().strip())
        if recorded.is_absolute() and _holds_data(recorded):
            return recorded
    return None


def record(directory: Path) -> None:
    """Remember where `mauntic dev` keeps its data (best effort: a read-only home only loses the convenience)."""
    state = _state_file()
    with contextlib.suppress(OSError):
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(f"{directory.resolve()}\n")


def explicitly_configured() -> bool:
    return bool(os.environ.get(ENV) or os.environ.get("MAUNTIC_DATABASE_URL"))


def export(directory: Path) -> None:
    """Use `directory` from now on, in this process and the ones it starts."""
    os.environ[ENV] = str(directory.resolve())


def for_dev(cwd: Path) -> Path:
    """`mauntic dev`: the project's `.mauntic/` (found upwards), or a new one in the working directory."""
    return find_upwards(cwd) or cwd / NAME


def for_command(cwd: Path) -> Path:
    """Any other command: existing data only, found upwards or where `dev` last ran; NoDataDir otherwise."""
    found = find_upwards(cwd)
    if found is not None and _holds_data(found):
        return found
    found = last_used()
    if found is not None:
        return found
    raise NoDataDir(
        f"no mauntic data found: there is no {NAME}/ holding a database in {cwd} or any parent directory, and no "
        f"`mauntic dev` has recorded one in {_state_file()}. Run `make run` (or `mauntic dev`) first, run this "
        f"from the project directory, or point at the data with {ENV}=/path/to/{NAME} "
        "(or MAUNTIC_DATABASE_URL for PostgreSQL)."
    )
