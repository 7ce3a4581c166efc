"""CPU accounting from /proc: per-process user+system seconds, and how busy the whole machine was."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(stat_path: Path) -> float:
    try:
        raw = stat_path.read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a running process, all its threads (dead ones included); 0.0 once it is gone."""
    return _cpu_of(Path(f"/proc/{pid}/stat"))


def rss_bytes(pid: int) -> int:
    """Resident set size of a running process (VmRSS), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def thread_groups(pid: int) -> dict[str, float]:
    """CPU so far of a Python process's threads: "total", "event loop" (the main thread: workflow code,
    activities, asyncio) and one "core:<tid>" entry per Temporal SDK core thread (Rust, named `tokio-*`)."""
    found = {"total": process_cpu_seconds(pid)}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    for task in tasks:
        try:
            name = (task / "comm").read_text().strip()
        except OSError:
            continue
        if task.name == str(pid):
            found["event loop"] = _cpu_of(task / "stat")
        elif name.startswith("tokio"):
            found[f"core:{task.name}"] = _cpu_of(task / "stat")
    return found


def split_threads(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What the event loop, the SDK core and the other threads (aiosqlite, executors, threads that ended) used
    between two thread_groups() samples."""
    total = after.get("total", 0.0) - before.get("total", 0.0)
    loop = after.get("event loop", 0.0) - before.get("event loop", 0.0)
    core = sum(value - before.get(key, 0.0) for key, value in after.items() if key.startswith("core:"))
    return {"event loop": loop, "sdk core": core, "other threads": max(total - loop - core, 0.0)}


def machine_busy_seconds() -> float:
    """CPU seconds spent not idle, summed over all cores, since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    # guest time is already counted in user/nice
    return (sum(values[:8]) - idle) / _TICKS


def cores() -> int:
    return len(os.sched_getaffinity(0))


def processes_matching(command: str, title_contains: str = "") -> dict[int, float]:
    """CPU so far, by pid, of every process whose command name is `command` and whose command line (process
    title) contains `title_contains` -- e.g. the PostgreSQL backends serving one database."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != command:
                continue
            if title_contains and title_contains not in (entry / "cmdline").read_bytes().decode(errors="replace"):
                continue
            found[int(entry.name)] = _cpu_of(entry / "stat")
        except OSError:
            continue
    return found


@dataclass
class CpuSample:
    per_process: dict[str, float]
    threads: dict[str, dict[str, float]]
    machine: float
    groups: dict[str, dict[int, float]]


def sample(
    pids: dict[str, int], python: set[str] | None = None, groups: dict[str, tuple[str, str]] | None = None
) -> CpuSample:
    """CPU so far of each process, split by thread group for the `python` ones (default: all but `temporal`);
    `groups` adds, under a name, the processes processes_matching(command, title) finds."""
    python = python if python is not None else {name for name in pids if name != "temporal"}
    return CpuSample(
        {name: process_cpu_seconds(pid) for name, pid in pids.items()},
        {name: thread_groups(pid) for name, pid in pids.items() if name in python},
        machine_busy_seconds(),
        {name: processes_matching(*match) for name, match in (groups or {}).items()},
    )


@dataclass
class CpuUsage:
    per_process: dict[str, float]
    threads: dict[str, dict[str, float]]
    machine: float
    wall: float

    @property
    def saturation(self) -> float:
        """Busy fraction of all the machine's cores over the measured interval."""
        return self.machine / (cores() * self.wall) if self.wall > 0 else 0.0

    def bottleneck(self) -> str:
        return max(self.per_process, key=lambda name: self.per_process[name])


def _minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def usage(before: CpuSample, after: CpuSample, wall: float) -> CpuUsage:
    """What each process used between two samples. A group counts its processes started in between in full
    (and misses those that ended in between)."""
    threads = {name: split_threads(before.threads.get(name, {}), groups) for name, groups in after.threads.items()}
    per_process = _minus(after.per_process, before.per_process)
    for name, members in after.groups.items():
        earlier = before.groups.get(name, {})
        per_process[name] = sum(seconds - earlier.get(pid, 0.0) for pid, seconds in members.items())
    return CpuUsage(per_process, threads, after.machine - before.machine, wall)


def report(title: str, cpu: CpuUsage, units: int, unit: str) -> list[str]:
    """Lines describing where the CPU went, per unit of work, and whether the machine was saturated."""
    lines = [f"{title}: CPU ms per {unit} (wall {cpu.wall:.1f} s)"]
    for name, seconds in sorted(cpu.per_process.items(), key=lambda item: -item[1]):
        split = ", ".join(
            f"{group} {1000 * used / max(units, 1):.1f}" for group, used in cpu.threads.get(name, {}).items()
        )
        per_unit = 1000 * seconds / max(units, 1)
        lines.append(f"  {name:<16} {per_unit:8.2f} ms   ({seconds:.1f} s total)" + (f"   [{split}]" if split else ""))
    ours = sum(cpu.per_process.values())
    lines.append(f"  all of the above {ours:.1f} s; the whole machine was busy {cpu.machine:.1f} s")
    foreign = cpu.machine - ours
    if foreign > 0.1 * cores() * cpu.wall:
        lines.append(
            f"  WARNING: other processes used {foreign:.1f} s of CPU ({100 * foreign / (cores() * cpu.wall):.0f}% "
            "of the machine) during the measurement: these figures are pessimistic, rerun on an idle machine"
        )
    busy = cpu.saturation
    verdict = "CPU-saturated" if busy >= 0.9 else "not CPU-saturated"
    lines.append(
        f"  bottleneck: {cpu.bottleneck()} (most CPU per {unit}); machine busy {100 * busy:.0f}% of "
        f"{cores()} cores x {cpu.wall:.1f} s -> {verdict}"
    )
    return lines
