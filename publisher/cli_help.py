"""The `publisher` command's help: the environment each command reads, its examples,
options with their defaults, and the argument types that refuse what cannot work."""

from __future__ import annotations

import argparse

CORE_ENV = """environment (read at start):
  PUBLISHER_HOME      data directory (default ./var): SQLite file, secret key, logs
  DATABASE_URL        default sqlite:///$PUBLISHER_HOME/publisher.db; PostgreSQL:
                      postgresql+psycopg://user@host/db
  REDIS_URL           default redis://127.0.0.1:6379/0 (else a private redis-server)
  PUBLISHER_SECRET_KEY  encrypts channel credentials (default: generated in
                      $PUBLISHER_HOME/secret.key)
  PUBLISHER_LOG_LEVEL default INFO"""
WORKER_ENV = """
  PUBLISHER_PLATFORM_TIMEOUT  default 10 (s): a platform call's outcome is then unknown
  PUBLISHER_CLAIM_LEASE       default 20 (s), renewed while sending
  PUBLISHER_MAX_ATTEMPTS      default 5
  PUBLISHER_<PLATFORM>_API_URL  another base URL (the sandbox), e.g. PUBLISHER_X_API_URL"""
DISPATCHER_ENV = """
  PUBLISHER_REQUEUE_AFTER     default 10 (s): a queued job Redis lost is handed over again
  PUBLISHER_RECONCILE_AFTER   default 15 (s) before the platform is asked about an
                              uncertain attempt
  PUBLISHER_MAX_CLOCK_OFFSET_S  default 1 (s) from the shared clock (Redis TIME)"""
LINKS_ENV = """
  PUBLISHER_LINKS_URL         the address readers reach this server at (a short domain):
                              links in posts go out as $PUBLISHER_LINKS_URL/l/{code}
                              (unset: under PUBLISHER_PUBLIC_URL, the API's own /l/; both
                              unset: links go out as written)"""
API_ENV = """
  PUBLISHER_PUBLIC_URL        where platforms reach this API (OAuth callbacks, media)
  PUBLISHER_API_HEADER_TIMEOUT  default 10 (s) for a request's head"""


def command(sub, name: str, help: str, *, examples: str, env: str = ""):
    """A subcommand whose --help shows its options' defaults, examples and environment."""
    return sub.add_parser(
        name,
        help=help,
        description=help[:1].upper() + help[1:] + ".",
        epilog=f"examples:\n{examples}\n\n{CORE_ENV}{env}",
        formatter_class=Help,
    )


class Help(argparse.RawDescriptionHelpFormatter):
    """An option's default after its help (not for flags and options without one);
    examples and environment kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is argparse.SUPPRESS
        if unset or isinstance(action.default, bool) or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """A command line it cannot read is one line (what is wrong, where the help is), not
    argparse's usage block then the error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _whole_number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {what} is a whole number") from None


def at_least_one_worker(text: str) -> int:
    count = _whole_number(text, "the number of workers")
    if count < 1:
        raise argparse.ArgumentTypeError(
            f"{count}: at least 1 (with no worker nothing is ever published)"
        )
    return count


def at_least_one_process(text: str) -> int:
    count = _whole_number(text, "the number of processes")
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count}: at least 1 (a process serves the port)")
    return count


def port(text: str) -> int:
    port = _whole_number(text, "a port")
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port}: a port is 0 to 65535 (0: any free one)")
    return port
