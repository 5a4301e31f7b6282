"""The `publisher` command. Each subcommand is a composition root for one process."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from publisher.cli_help import (
    API_ENV,
    CORE_ENV,
    DISPATCHER_ENV,
    LINKS_ENV,
    WORKER_ENV,
    Parser,
    at_least_one_process,
    at_least_one_worker,
    command,
    port,
)
from publisher.core.settings import Settings
from publisher.serve import default_link_workers
from publisher.system import logs, preflight


def _api(settings: Settings, args: argparse.Namespace) -> int:
    from publisher.serve import run_api

    _stop_on_sigterm()
    run_api(settings, args.host, args.port)
    return 0


def _links(_settings: Settings, args: argparse.Namespace) -> int:
    from publisher.serve import run_links

    run_links(args.host, args.port, args.workers)  # uvicorn stops on SIGTERM itself
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from worker import run_worker

    run_worker(settings, burst=args.burst)
    return 0


def _dispatcher(settings: Settings, _args: argparse.Namespace) -> int:
    from worker import run_dispatcher_process

    run_dispatcher_process(settings)
    return 0


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from publisher.system import migrate

    migrate.upgrade(settings.effective_database_url)
    print(f"database at head: {settings.effective_database_url}")
    return 0


def _db_retally(settings: Settings, _args: argparse.Namespace) -> int:
    from publisher.core.db import make_engine, session_scope
    from publisher.engage.click_writes import tally_stored_clicks

    engine = make_engine(settings.effective_database_url)
    with session_scope(engine) as session:
        tally_stored_clicks(session)
    engine.dispose()
    print("click tallies rebuilt from the clicks stored")
    return 0


def _keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from publisher.core.db import make_engine, session_scope
    from publisher.core.workspaces import create_key, get_or_create_workspace
    from publisher.system import migrate

    # A key needs the schema: bring it to head first, as `publisher up` does (idempotent).
    migrate.upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    with session_scope(engine) as session:
        workspace = get_or_create_workspace(session, args.workspace)
        key, secret = create_key(
            session, workspace_id=workspace.id, name=args.name or f"{args.role} key", role=args.role
        )
    engine.dispose()
    # The key alone on stdout, so that KEY=$(publisher keys create ...) holds just the key.
    print(
        f"workspace {workspace.name} (id {workspace.id}), {key.role} key {key.prefix}: this is "
        "the only time the key is shown; store it now.",
        file=sys.stderr,
    )
    print(secret)
    return 0


def _secrets_rotate(settings: Settings, _args: argparse.Namespace) -> int:
    from publisher.system.rotation import UnreadableCredentials, rotate_secrets

    try:
        done = rotate_secrets(settings)
    except UnreadableCredentials as exc:
        print(f"nothing changed: {exc}", file=sys.stderr)
        return 1
    print(
        f"re-encrypted the credentials of {done.channels} channel(s) and the secrets of "
        f"{done.webhooks} webhook(s) with the first key"
    )
    if done.key_file is not None:
        print(f"{done.key_file}: a new key; {done.retired_keys} old key(s) retired")
    else:
        print(
            "PUBLISHER_SECRET_KEY: every credential now uses its first key; the others can be "
            "removed once every process runs with the first key first"
        )
    return 0


def _sandbox(_settings: Settings, args: argparse.Namespace) -> int:
    from adapters.sandbox import Sandbox

    sandbox = Sandbox(x_port=args.x_port, graph_port=args.graph_port).start()
    print(f"PUBLISHER_X_API_URL={sandbox.x_url}")
    print(f"PUBLISHER_FACEBOOK_API_URL={sandbox.graph_url}")
    print(f"ledger: {sandbox.x_url}/_sandbox/ledger", flush=True)
    _sleep_until_signal()
    sandbox.stop()
    return 0


def _up(settings: Settings, args: argparse.Namespace) -> int:
    from publisher.stack import Stack, StackFailed

    stack = Stack(settings, port=args.port, workers=args.workers, links_port=args.links_port)
    if args.sandbox:
        from adapters.sandbox import Sandbox

        sandbox = Sandbox().start()
        from publisher.demo import sandbox_apps

        stack.settings = settings.with_(
            api_base_urls={
                "x": sandbox.x_url,
                "facebook": sandbox.graph_url,
                "instagram": sandbox.graph_url,
            },
            oauth_clients=sandbox_apps(settings),
        )
        print(f"sandbox: X {sandbox.x_url}, Graph {sandbox.graph_url}")
    stack.start()
    reach = (
        f"readers reach them at {stack.settings.links_url}"
        if stack.settings.links_url
        else "set PUBLISHER_LINKS_URL to where readers reach it; until then links go out "
        "under PUBLISHER_PUBLIC_URL, or as written"
    )
    print(
        f"Publisher is up: API {stack.api_url} (docs {stack.api_url}/docs), "
        f"{args.workers} worker(s), dispatcher, short links {stack.links_url}/l/{{code}} "
        f"({reach}); Ctrl-C stops it\n"
        "Next: a key, in another terminal: publisher keys create --workspace acme --role "
        f"admin; then call the API with it (README, 'Quick start'). Ready when "
        f"{stack.api_url}/readyz answers 200.",
        flush=True,
    )
    _stop_on_sigterm()
    try:
        stack.supervise()  # a child that dies is started again; only a signal ends this
    except KeyboardInterrupt:
        return 0
    except StackFailed as exc:
        print(f"publisher up: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from publisher.demo import run_demo

    return run_demo(settings, port=args.port, delay_s=args.delay)


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so `finally` blocks run."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _sleep_until_signal() -> None:
    _stop_on_sigterm()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


# Each process reads these (README, "Running it", says what each means).
def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="publisher",
        description=__doc__,
        epilog="examples:\n  publisher up --sandbox      # everything, publishing to the "
        "loopback sandbox\n  publisher keys create --workspace acme --role admin\n  "
        "publisher <command> --help  # its options, defaults and environment\n\n" + CORE_ENV,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = command(
        sub,
        "up",
        "API + dispatcher + worker(s) in one command",
        examples="  publisher up --sandbox\n  DATABASE_URL=postgresql+psycopg://postgres@db/pub "
        "publisher up --workers 4 --port 8080",
        env=API_ENV + LINKS_ENV + WORKER_ENV + DISPATCHER_ENV,
    )
    p.add_argument("--port", type=port, default=8000, help="the API's port (0: any free one)")
    p.add_argument(
        "--links-port", type=port, default=8001,
        help="the short links' server's port (0: any free one)",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=at_least_one_worker, default=1, help="publish worker processes"
    )
    p.add_argument("--sandbox", action="store_true", help="publish to the loopback sandbox")
    p.set_defaults(run=_up)

    p = command(
        sub,
        "api",
        "the HTTP API",
        examples="  publisher api --host 0.0.0.0 --port 8080",
        env=API_ENV,
    )
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    p.add_argument("--port", type=port, default=8000, help="the port (0: any free one)")
    p.set_defaults(run=_api, needs_schema=True)

    p = command(
        sub,
        "links",
        "the short links' own server (GET /l/{code}: where readers land)",
        examples="  publisher links --host 0.0.0.0 --port 8001 --workers 2",
        env=LINKS_ENV,
    )
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    p.add_argument("--port", type=port, default=8001, help="the port")
    p.add_argument(
        "--workers", type=at_least_one_process, default=default_link_workers(),
        help="processes serving the port (default: one per core, at most 8)",
    )  # fmt: skip
    p.set_defaults(run=_links, needs_schema=True)

    p = command(
        sub,
        "worker",
        "one publish worker (run as many as you like, anywhere)",
        examples="  publisher worker\n  publisher worker --burst   # work the queue empty, "
        "then exit",
        env=WORKER_ENV,
    )
    p.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    p.set_defaults(run=_worker, needs_schema=True)

    command(
        sub,
        "dispatcher",
        "hands due publications to workers (several may run: one leads)",
        examples="  publisher dispatcher",
        env=DISPATCHER_ENV,
    ).set_defaults(run=_dispatcher, needs_schema=True)

    db = command(sub, "db", "database schema", examples="  publisher db upgrade").add_subparsers(
        dest="db", required=True
    )
    command(
        db,
        "upgrade",
        "apply every migration the database lacks (safe to run again)",
        examples="  publisher db upgrade\n  DATABASE_URL=postgresql+psycopg://postgres@db/pub "
        "publisher db upgrade",
    ).set_defaults(run=_db_upgrade)
    command(
        db,
        "retally",
        "rebuild the click tallies reports read from the clicks stored (after clicks were "
        "written by a process older than the tallies; stop the workers and API first)",
        examples="  publisher db retally",
    ).set_defaults(run=_db_retally, needs_schema=True)

    keys = command(
        sub,
        "keys",
        "API keys",
        examples="  publisher keys create --workspace acme --role admin --name ops\n  "
        "KEY=$(publisher keys create --workspace acme --role editor)",
    ).add_subparsers(dest="keys", required=True)
    p = command(
        keys,
        "create",
        "create a key (and the workspace if new); printed once, alone on stdout",
        examples="  publisher keys create --workspace acme --role admin --name ops\n  "
        "KEY=$(publisher keys create --workspace acme --role reviewer --name lea)",
    )
    p.add_argument("--workspace", required=True, help="the workspace's name")
    p.add_argument(
        "--role",
        required=True,
        choices=["admin", "editor", "reviewer", "automation"],
        help="what the key may do",
    )
    p.add_argument("--name", help='a label for the key (default: "<role> key")')
    p.set_defaults(run=_keys_create)

    secrets = command(
        sub,
        "secrets",
        "the keys that encrypt channel credentials",
        examples="  publisher secrets rotate",
    )
    secrets = secrets.add_subparsers(dest="secrets", required=True)
    command(
        secrets,
        "rotate",
        "encrypt every channel's credentials under a new key, retire the old",
        examples="  publisher secrets rotate   # then restart the processes that read "
        "PUBLISHER_SECRET_KEY",
    ).set_defaults(run=_secrets_rotate, needs_schema=True)

    p = command(
        sub,
        "sandbox",
        "loopback X and Graph API servers",
        examples="  publisher sandbox --x-port 8401 --graph-port 8402\n  "
        "PUBLISHER_X_API_URL=http://127.0.0.1:8401 publisher worker",
    )
    p.add_argument("--x-port", type=port, default=8401, help="X API v2's port")
    p.add_argument("--graph-port", type=port, default=8402, help="the Graph API's port")
    p.set_defaults(run=_sandbox)

    p = command(
        sub,
        "demo",
        "the main job end to end on the embedded default",
        examples="  publisher demo\n  publisher demo --delay 10",
    )
    p.add_argument("--port", type=port, default=0, help="API port (0: any free one)")
    p.add_argument("--delay", type=float, default=5.0, help="seconds until the post is due")
    p.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = " ".join(
        part
        for part in (args.command, *(getattr(args, k, None) for k in ("db", "keys", "secrets")))
        if part
    )
    try:
        settings = Settings.from_env()
        problem = preflight.settings_problem(settings)
    except ValueError as exc:  # an environment variable this engine cannot read
        problem, settings = str(exc), None
    if settings is not None:
        logs.configure(settings.log_level)
    if problem is None and args.command != "sandbox":
        problem = preflight.database_url_problem(settings.effective_database_url)
    if problem is None and args.command not in ("sandbox", "demo"):
        problem = preflight.database_problem(settings)
    if problem is None:
        problem = preflight.ports_problem(args)
    if problem is None and getattr(args, "needs_schema", False):
        problem = preflight.schema_problem(settings)
    if problem is not None:
        print(f"publisher {command}: {problem}", file=sys.stderr)
        return 2
    try:
        return args.run(settings, args) or 0
    except Exception as exc:  # noqa: BLE001 - said in one line when it is an operator's to fix
        from publisher.stack import StackFailed

        said = str(exc) if isinstance(exc, StackFailed) else preflight.explain(exc, settings)
        if said is None:
            raise
        print(f"publisher {command}: {said}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
