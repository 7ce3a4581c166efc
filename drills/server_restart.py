"""Drill: the Temporal dev server is SIGKILLed mid-run and restarted; no email may be lost or sent twice.

`python -m drills.server_restart [--journey abandoned-cart|single-send] [--contacts N] [--restarts R] [--down S]
[--wait PT20S] [--database-url URL | --postgres SERVER]` is the run of drills.worker_kill (the same stack, slow
SMTP sink, journeys and figures: see its docstring and drills/journeys.py), but what dies is the Temporal server:
R times (default 1) while the emails go out, the dev server (`temporal server start-dev`, as bench.stack and
`mauntic dev` start it) is SIGKILLed by its pid, stays down S seconds (default 3), and is started again on the
same port with the same `--db-filename` (`<data dir>/temporal.db`, SQLite in WAL mode), so its state (workflows,
timers, task queues) survives. The worker, its dispatcher and the API are not restarted: they must reconnect by
themselves. A send whose completion could not be reported while the server was down is retried after the send
activity's timeout; its message-log row (the idempotency key) keeps the retry from sending twice.

Default journey: abandoned-cart (the even contacts order before their PT20S timeout; the odd ones get one
reminder each). Exit status 1 on a violation: a lost or duplicated email, or a purchaser reminded.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from contextlib import ExitStack
from functools import partial

from bench import postgres, segment
from bench.stack import Stack, StackError, run_main
from drills.worker_kill import add_common_args, run_drill
from mauntic.embedded import start_dev_server
from mauntic.settings import Settings


def server_settings(stack: Stack) -> Settings:
    """The settings the stack started its dev server with (data dir and ports), to start it again the same way."""
    return Settings(
        data_dir=stack.data_dir,
        temporal_port=int(stack.env["MAUNTIC_TEMPORAL_PORT"]),
        temporal_ui_port=int(stack.env["MAUNTIC_TEMPORAL_UI_PORT"]),
    )


async def restart_server(stack: Stack, down: float) -> None:
    """SIGKILL the dev server by its pid, wait `down` seconds, start it again on its database file."""
    server = stack.processes["temporal"]
    server.send_signal(signal.SIGKILL)
    server.wait()
    await asyncio.sleep(down)
    try:
        # In a thread: the SMTP sink runs on this event loop and must keep answering meanwhile.
        stack.processes["temporal"] = await asyncio.to_thread(start_dev_server, server_settings(stack))
    except RuntimeError as exc:
        raise StackError(f"the Temporal dev server did not come back: {exc}") from exc


async def main_async(args: argparse.Namespace) -> int:
    with ExitStack() as resources:
        database_url = args.database_url
        if args.postgres:
            database_url = resources.enter_context(postgres.throwaway_database(args.postgres))
        restart = partial(restart_server, down=args.down)
        return await run_drill(args, database_url, args.restarts, restart, "server restart", "Server restart drill")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m drills.server_restart", description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.set_defaults(journey="abandoned-cart")
    parser.add_argument("--restarts", type=int, default=1, help="server SIGKILLs during the burst (default 1)")
    parser.add_argument("--down", type=float, default=3.0, help="seconds the server stays down (default 3)")
    args = parser.parse_args(argv)
    if args.contacts < 2 or args.restarts < 0 or args.down < 0:
        parser.error("--contacts must be at least 2, --restarts and --down not negative")
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, segment.IngestError))


if __name__ == "__main__":
    main()
