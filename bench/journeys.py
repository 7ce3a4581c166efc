"""Journey throughput: the engine against the same journey shape written as bare Temporal code.

`python -m bench.journeys [--contacts N]` starts the embedded stack (Temporal dev server, `mauntic worker`,
`mauntic api`, each its own process) with a counting SMTP sink, then on the same server:

1. engine: N contacts created through /v1/batch (identify, not measured); then, measured from the first trigger
   to the last email, each contact is triggered into a published journey (send -> wait_for_event -> send)
   through /v1/batch, and its follow-up event is ingested once its first email reached the sink;
2. bare: the same shape as a minimal workflow (bench/bare.py) with its worker in its own process, started with
   start_workflow and resumed with a signal once its first email reached the sink;
3. bare-local: the same as bare, its two sends as local activities.

By default the follow-ups are held until every contact had its first email (all workflows are then open, in their
wait), which is when each worker's resident memory is sampled. Prints contacts/s of each phase, the ratios
engine / bare (target >= 1.0) and engine / bare-local, worker MB per 1,000 cached workflows, CPU per contact of
every process and the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy import text

from bench import segment
from bench.journey_phases import (
    JOURNEY,
    bare_phase,
    engine_phase,
    holds,
    max_cached_env,
    max_cached_setting,
)
from bench.phase import PhaseResult, PhaseTimeout
from bench.procstat import report
from bench.smtp_sink import counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory

TARGET_RATIO = 1.0  # engine / bare (regular activities); the ratio against bare-local is reported beside it
PHASES = ("engine", "bare", "bare-local")
MB = 1024 * 1024


async def database_counts(stack: Stack) -> str:
    engine = create_async_db_engine(stack.database_url)
    try:
        async with session_factory(engine)() as session:
            enrolled = (await session.execute(text("SELECT count(*) FROM journey_enrollment"))).scalar_one()
            rows = await session.execute(text("SELECT status, count(*) FROM message_log GROUP BY status"))
            statuses = ", ".join(f"{status} {count}" for status, count in rows.all())
    finally:
        await engine.dispose()
    return f"journey_enrollment rows {enrolled}; message_log: {statuses or 'none'}"


def worker_limits(args: argparse.Namespace) -> dict[str, str]:
    """The engine worker's limits, as settings (the bare workers get the same numbers)."""
    return {
        "MAUNTIC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": str(args.workflow_tasks),
        "MAUNTIC_WORKER_MAX_CONCURRENT_ACTIVITIES": str(args.activities),
    } | max_cached_env(args.max_cached)


def ratio_line(label: str, engine: PhaseResult, other: PhaseResult, target: float | None) -> str:
    ratio = engine.rate / other.rate if other.rate else 0.0
    if target is None:
        return f"{label:<26} {ratio:6.2f}   (reported beside the target; no target of its own)"
    verdict = "met" if ratio >= target else "NOT met"
    return f"{label:<26} {ratio:6.2f}   (target >= {target:.1f}: {verdict})"


def memory_lines(results: list[PhaseResult], args: argparse.Namespace) -> list[str]:
    """Worker RSS growth from the phase's start to the instant every contact was in its wait, per 1,000 cached
    workflows: the cache holds min(contacts, max_cached_workflows) of them."""
    value, source = max_cached_setting()
    engine_cached = args.max_cached if source.startswith("MAUNTIC_") else value  # else the engine keeps the default
    lines = [
        f"worker memory (cached workflows = contacts in their wait, at most max_cached_workflows; engine "
        f"{engine_cached} ({source}), bare workers {args.max_cached} (--max-cached))"
    ]
    for result in results:
        if not result.rss_waiting:
            lines.append(f"  {result.name:<11} n/a (follow-ups not held: --no-hold or --window)")
            continue
        cached = min(result.contacts, engine_cached if result.name == "engine" else args.max_cached)
        grown = (result.rss_waiting - result.rss_start) / MB
        lines.append(
            f"  {result.name:<11} RSS {result.rss_start / MB:7.1f} -> {result.rss_waiting / MB:7.1f} MB with "
            f"{cached} cached workflows: {1000 * grown / max(cached, 1):7.1f} MB per 1,000 cached workflows"
        )
    return lines


def print_results(results: dict[str, PhaseResult], counts: str, args: argparse.Namespace) -> None:
    print()
    for result in results.values():
        print(
            f"{result.name:<11} {result.rate:7.1f} contacts/s  ({result.contacts} contacts in {result.wall:.1f} s; "
            f"all first emails after {result.first_emails_at:.1f} s; {result.duplicates} duplicate emails)"
        )
    engine, bare, local = (results.get(name) for name in PHASES)
    if engine is not None and bare is not None:
        print(ratio_line("ratio engine / bare", engine, bare, TARGET_RATIO))
    if engine is not None and local is not None:
        print(ratio_line("ratio engine / bare-local", engine, local, None))
    if bare is not None and local is not None:
        print(ratio_line("ratio bare / bare-local", bare, local, None))
    duplicates = sum(result.duplicates for result in results.values())
    print(f"duplicate emails           {duplicates:6d}   (target 0: {'met' if duplicates == 0 else 'NOT met'})")
    if engine is not None:
        print(f"engine database: {counts}")
    print("\n".join(memory_lines(list(results.values()), args)))
    for result in results.values():
        print()
        print("\n".join(report(result.name, result.cpu, result.contacts, "contact")))


async def main_async(args: argparse.Namespace) -> int:
    results: dict[str, PhaseResult] = {}
    counts = ""
    shape = "held until every contact had its first email" if holds(args) else "sent as each first email arrived"
    async with (
        counting_sink() as sink,
        embedded_stack(
            sink.port,
            keep=args.keep,
            label="journeys",
            profile=["worker"] if args.profile else [],
            settings_env=worker_limits(args),
        ) as stack,
    ):
        await publish_journey(stack, "Bench onboarding", JOURNEY)
        print(f"stack up: API {stack.api_url}, Temporal {stack.temporal_target}, SMTP sink :{sink.port}")
        print(f"{args.contacts} contacts per phase, phases {', '.join(args.phases)}; follow-ups {shape}")
        for name in args.phases:
            if name == "engine":
                result = await engine_phase(stack, sink, args)
                await asyncio.sleep(2)  # the last activities record "sent" just after their email reached the sink
                counts = await database_counts(stack)
            else:
                result = await bare_phase(stack, sink, args, local=name == "bare-local")
            results[name] = result
            print(f"{name}: {result.rate:.1f} contacts/s")
    print_results(results, counts, args)
    return 0


def phases(value: str) -> list[str]:
    """`engine,bare,bare-local` (any subset, in that order), `all`, or `both` (engine and bare, as before)."""
    if value == "all":
        return list(PHASES)
    if value == "both":
        return ["engine", "bare"]
    chosen = {part.strip() for part in value.split(",") if part.strip()}
    unknown = chosen - set(PHASES)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"phases are {', '.join(PHASES)} (comma-separated), all or both")
    return [name for name in PHASES if name in chosen]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.journeys", description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=2000, help="contacts per phase (default 2000)")
    parser.add_argument("--batch", type=int, default=100, help="events per /v1/batch request (default 100)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent ingestion requests (default 8)")
    parser.add_argument("--inflight", type=int, default=64, help="concurrent Temporal client calls, bare (64)")
    parser.add_argument("--timeout", type=float, default=0.0, help="seconds per phase (default 120 + 0.3 s/contact)")
    parser.add_argument(
        "--phases", type=phases, default=list(PHASES), help="engine,bare,bare-local (default all), or both"
    )
    parser.add_argument(
        "--max-cached",
        "--bare-max-cached",
        type=int,
        default=max_cached_setting()[0],
        help="max_cached_workflows of the bare workers, and of the engine's when it has a setting for it "
        "(default: the engine's, else the SDK's 1000)",
    )
    parser.add_argument(
        "--window", type=int, default=0, help="max contacts in a journey at once (default 0: all start at once)"
    )
    parser.add_argument(
        "--no-hold",
        action="store_true",
        help="send each follow-up as soon as its first email arrived (no memory figure then)",
    )
    parser.add_argument(
        "--bare-search-attributes",
        action="store_true",
        help="diagnostic: give the bare workflow the engine's search attributes and per-step upserts",
    )
    default = Settings.model_fields
    parser.add_argument(
        "--workflow-tasks",
        type=int,
        default=default["worker_max_concurrent_workflow_tasks"].default,
        help="workflow task slots of every worker (default: the engine's setting)",
    )
    parser.add_argument(
        "--activities",
        type=int,
        default=default["worker_max_concurrent_activities"].default,
        help="activity (and local activity) slots of every worker (default: the engine's setting)",
    )
    parser.add_argument("--profile", action="store_true", help="profile the workers' CPU (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir (logs, databases)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        args.timeout = 120 + 0.3 * args.contacts
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, PhaseTimeout, segment.IngestError))


if __name__ == "__main__":
    main()
