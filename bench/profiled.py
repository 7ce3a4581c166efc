"""Run a module under cProfile timed by the thread's CPU clock, so waiting (epoll, locks) costs nothing and
the profile shows where the event loop's CPU goes: `python -m bench.profiled OUT.prof mauntic worker`.

The profile is written when the module returns or exits (the worker and the API return after SIGTERM).
"""

from __future__ import annotations

import cProfile
import pstats
import re
import runpy
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

_SITE = re.compile(r"site-packages/([^/]+)/")
_STDLIB = re.compile(r"/lib/python3\.\d+/([^/]+?)(?:\.py)?/")


def package_of(filename: str) -> str:
    """The package a profiled function belongs to: a third-party package, a stdlib module, or a repo package."""
    if match := _SITE.search(filename):
        return match.group(1)
    if match := _STDLIB.search(filename):
        return f"stdlib {match.group(1)}"
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    parts = Path(filename).parts
    for package in ("activities", "api", "domain", "store", "workflows", "mauntic", "bench"):
        if package in parts:
            return f"mauntic {package}"
    return "other"


def by_package(path: Path) -> list[tuple[str, float]]:
    """Own CPU time per package, largest first."""
    stats = pstats.Stats(str(path))
    totals: dict[str, float] = defaultdict(float)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in raw.items():
        totals[package_of(filename)] += own
    return sorted(totals.items(), key=lambda item: -item[1])


def _exit_instead(sig: int) -> None:
    raise SystemExit(128 + sig)


def main() -> None:
    out, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    # uvicorn re-raises the SIGTERM it handled once it has shut down, which would kill the process before the
    # profile is written: exit normally instead.
    signal.raise_signal = _exit_instead
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
