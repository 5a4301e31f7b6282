"""One Settings object, read from the environment once and passed down."""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

_BASE_URL_VAR = re.compile(r"PUBLISHER_([A-Z0-9]+)_API_URL")


class SettingsError(ValueError):
    """An environment variable this engine cannot read: the message names it and the fix."""


def _number(env: Mapping[str, str], name: str, default: str, kind: type = float) -> float:
    value = env.get(name, default)
    try:
        number = kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name}={value!r} is not {what}: write e.g. {default}") from None
    if not math.isfinite(number):
        raise SettingsError(f"{name}={value!r} is not a finite number: write e.g. {default}")
    if number < 0:
        raise SettingsError(f"{name}={value!r} is negative: write e.g. {default}")
    return number


_CLIENT_ID_VAR = re.compile(r"PUBLISHER_([A-Z0-9]+)_CLIENT_ID")


@dataclass(frozen=True)
class Settings:
    """Everything the engine needs to know about where it runs."""

    home: Path = Path("var")
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    # REDIS_URL was set: `publisher up` then uses that Redis or stops, never one of its own.
    redis_url_given: bool = field(default=False, compare=False)  # where it came from
    secret_keys: tuple[str, ...] = field(default=(), repr=False)
    # Set when the keys come from `home/secret.key` (the embedded default): processes then
    # read that file, and re-read it when it changes (`publisher secrets rotate`).
    key_file: Path | None = None
    # Per platform slug, a base URL to use instead of the real host (the sandbox).
    api_base_urls: Mapping[str, str] = field(default_factory=dict)
    graph_api_version: str = "v26.0"
    platform_timeout_s: float = 10.0
    job_timeout_s: int = 120
    queue_name: str = "publish"
    max_attempts: int = 5
    # An unknown outcome is checked with the platform this long after the attempt.
    reconcile_after_s: float = 15.0
    # A worker holds a claim for claim_lease_s, renewed while it sends; the reaper expires a
    # claim claim_lease_s + platform_timeout_s + claim_grace_s after its last renewal.
    claim_lease_s: float = 20.0
    claim_grace_s: float = 5.0
    # A `queued` row whose job Redis lost is handed over again after this.
    requeue_after_s: float = 10.0
    # PostgreSQL ends a session left idle inside a transaction this long (a process
    # frozen mid-transaction): its locks are released and the others go on.
    db_idle_transaction_timeout_s: float = 15.0
    # A process whose clock is further than this from the shared one (Redis TIME) neither
    # dispatches nor sends (publisher/core/clock.py).
    max_clock_offset_s: float = 1.0
    # A client must send its request headers within this, and its body within this plus
    # its length at this many bytes a second (api/http/serving.py): else a 408.
    api_header_timeout_s: float = 10.0
    api_body_min_bytes_per_s: float = 16 * 1024
    log_level: str = "INFO"
    # Uploaded and imported media: a directory of files named by their SHA-256.
    media_dir: Path | None = None  # default: home/media
    media_max_bytes: int = 512 * 1024 * 1024
    # Media imports (and later webhooks) may reach private and loopback addresses: for
    # tests and closed networks only.
    allow_private_urls: bool = False
    # Where platforms can reach this API from the internet (Instagram fetches images by
    # URL): signed, expiring media links are made under it. Empty: no public links.
    public_url: str = ""
    # Where readers reach the short links (`publisher links`, say a short domain): links
    # in posts go out as {links_url}/l/{code}. Empty: under public_url (the API's /l/).
    links_url: str = ""
    # Per platform slug, the OAuth app people authorise when they connect an account:
    # (client id, client secret or "" for a public client). Instagram uses Facebook's.
    oauth_clients: Mapping[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    # When a published post's metrics are pulled, after its publication (durations: s, m,
    # h, d, w); the pulls stop after the last.
    metrics_schedule: str = "1h,6h,1d,3d,7d,14d,21d,28d"
    # Set by `publisher up` on its children: the API's /healthz says it, so `up` knows the
    # API answering on its port is its own.
    instance: str = ""
    # Inbound webhooks (/v1/hooks/{platform}): the token Meta's handshake must name, and
    # X's app consumer secret (its CRC and signatures). Meta signs with the app secret,
    # PUBLISHER_FACEBOOK_CLIENT_SECRET: read on its own (webhooks without Facebook Login
    # need no client id).
    facebook_verify_token: str = field(default="", repr=False)
    x_consumer_secret: str = field(default="", repr=False)
    facebook_app_secret: str = field(default="", repr=False)

    def oauth_client(self, platform: str) -> tuple[str, str] | None:
        """The OAuth app for `platform` (Instagram accounts connect through Facebook Login)."""
        found = self.oauth_clients.get(platform)
        if found is None and platform == "instagram":
            found = self.oauth_clients.get("facebook")
        return found

    @property
    def meta_app_secret(self) -> str:
        """What Meta signs its webhook deliveries with: the Facebook app's secret."""
        app = self.oauth_clients.get("facebook")
        return (app[1] if app else "") or self.facebook_app_secret

    @property
    def effective_media_dir(self) -> Path:
        return self.media_dir or self.home / "media"

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file under `home`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'publisher.db').resolve()}"

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment that `from_env` reads back as these settings (for child processes)."""
        env = {
            "PUBLISHER_HOME": str(self.home),
            "DATABASE_URL": self.effective_database_url,
            "REDIS_URL": self.redis_url,
            "PUBLISHER_SECRET_KEY": "" if self.key_file else ",".join(self.secret_keys),
            "PUBLISHER_GRAPH_API_VERSION": self.graph_api_version,
            "PUBLISHER_PLATFORM_TIMEOUT": str(self.platform_timeout_s),
            "PUBLISHER_JOB_TIMEOUT": str(self.job_timeout_s),
            "PUBLISHER_MAX_ATTEMPTS": str(self.max_attempts),
            "PUBLISHER_RECONCILE_AFTER": str(self.reconcile_after_s),
            "PUBLISHER_CLAIM_LEASE": str(self.claim_lease_s),
            "PUBLISHER_CLAIM_GRACE": str(self.claim_grace_s),
            "PUBLISHER_REQUEUE_AFTER": str(self.requeue_after_s),
            "PUBLISHER_DB_IDLE_TRANSACTION_TIMEOUT": str(self.db_idle_transaction_timeout_s),
            "PUBLISHER_MAX_CLOCK_OFFSET_S": str(self.max_clock_offset_s),
            "PUBLISHER_API_HEADER_TIMEOUT": str(self.api_header_timeout_s),
            "PUBLISHER_API_BODY_MIN_RATE": str(self.api_body_min_bytes_per_s),
            "PUBLISHER_LOG_LEVEL": self.log_level,
            "PUBLISHER_MEDIA_DIR": str(self.media_dir) if self.media_dir else "",
            "PUBLISHER_MEDIA_MAX_BYTES": str(self.media_max_bytes),
            "PUBLISHER_ALLOW_PRIVATE_URLS": "1" if self.allow_private_urls else "0",
            "PUBLISHER_PUBLIC_URL": self.public_url,
            "PUBLISHER_LINKS_URL": self.links_url,
            "PUBLISHER_METRICS_SCHEDULE": self.metrics_schedule,
            "PUBLISHER_INSTANCE": self.instance,
            "PUBLISHER_FACEBOOK_VERIFY_TOKEN": self.facebook_verify_token,
            "PUBLISHER_X_CONSUMER_SECRET": self.x_consumer_secret,
            "PUBLISHER_FACEBOOK_CLIENT_SECRET": self.facebook_app_secret,  # an app's: the same
        }
        env.update({f"PUBLISHER_{p.upper()}_API_URL": url for p, url in self.api_base_urls.items()})
        for platform, (client_id, secret) in self.oauth_clients.items():
            env[f"PUBLISHER_{platform.upper()}_CLIENT_ID"] = client_id
            env[f"PUBLISHER_{platform.upper()}_CLIENT_SECRET"] = secret
        return env

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read the PUBLISHER_* / DATABASE_URL / REDIS_URL environment variables."""
        env = os.environ if environ is None else environ
        home = Path(env.get("PUBLISHER_HOME", "var"))
        keys = tuple(k for k in env.get("PUBLISHER_SECRET_KEY", "").split(",") if k.strip())
        return cls(
            home=home,
            database_url=env.get("DATABASE_URL", ""),
            redis_url=env.get("REDIS_URL") or cls.redis_url,
            redis_url_given=bool(env.get("REDIS_URL")),
            secret_keys=keys,
            api_base_urls={
                m.group(1).lower(): value
                for name, value in env.items()
                if (m := _BASE_URL_VAR.fullmatch(name)) and value
            },
            graph_api_version=env.get("PUBLISHER_GRAPH_API_VERSION", cls.graph_api_version),
            platform_timeout_s=_number(env, "PUBLISHER_PLATFORM_TIMEOUT", "10"),
            job_timeout_s=int(_number(env, "PUBLISHER_JOB_TIMEOUT", "120", int)),
            max_attempts=int(_number(env, "PUBLISHER_MAX_ATTEMPTS", "5", int)),
            reconcile_after_s=_number(env, "PUBLISHER_RECONCILE_AFTER", "15"),
            claim_lease_s=_number(env, "PUBLISHER_CLAIM_LEASE", "20"),
            claim_grace_s=_number(env, "PUBLISHER_CLAIM_GRACE", "5"),
            requeue_after_s=_number(env, "PUBLISHER_REQUEUE_AFTER", "10"),
            db_idle_transaction_timeout_s=_number(
                env, "PUBLISHER_DB_IDLE_TRANSACTION_TIMEOUT", "15"
            ),
            max_clock_offset_s=_number(env, "PUBLISHER_MAX_CLOCK_OFFSET_S", "1"),
            api_header_timeout_s=_number(env, "PUBLISHER_API_HEADER_TIMEOUT", "10"),
            api_body_min_bytes_per_s=_number(env, "PUBLISHER_API_BODY_MIN_RATE", "16384"),
            log_level=env.get("PUBLISHER_LOG_LEVEL", cls.log_level),
            media_dir=Path(env["PUBLISHER_MEDIA_DIR"]) if env.get("PUBLISHER_MEDIA_DIR") else None,
            media_max_bytes=int(
                _number(env, "PUBLISHER_MEDIA_MAX_BYTES", str(cls.media_max_bytes), int)
            ),
            allow_private_urls=env.get("PUBLISHER_ALLOW_PRIVATE_URLS", "0") == "1",
            public_url=env.get("PUBLISHER_PUBLIC_URL", ""),
            links_url=env.get("PUBLISHER_LINKS_URL", ""),
            metrics_schedule=env.get("PUBLISHER_METRICS_SCHEDULE", cls.metrics_schedule),
            instance=env.get("PUBLISHER_INSTANCE", ""),
            facebook_verify_token=env.get("PUBLISHER_FACEBOOK_VERIFY_TOKEN", ""),
            x_consumer_secret=env.get("PUBLISHER_X_CONSUMER_SECRET", ""),
            # With a client id, the secret is that app's (oauth_clients): here only alone.
            facebook_app_secret=""
            if env.get("PUBLISHER_FACEBOOK_CLIENT_ID")
            else env.get("PUBLISHER_FACEBOOK_CLIENT_SECRET", ""),
            oauth_clients={
                m.group(1).lower(): (value, env.get(f"PUBLISHER_{m.group(1)}_CLIENT_SECRET", ""))
                for name, value in env.items()
                if (m := _CLIENT_ID_VAR.fullmatch(name)) and value
            },
        )


def ensure_secret_keys(settings: Settings) -> Settings:
    """Embedded default: without PUBLISHER_SECRET_KEY, keep generated keys in `home`."""
    if settings.secret_keys and not settings.key_file:
        return settings
    path = settings.home / "secret.key"
    settings.home.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole beside it, then linked into place: a sibling process starting at
        # the same moment (`publisher links` workers) finds no file or a whole one, never
        # an empty one; the first link wins, the other keeps the winner's key.
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(new_secret_key() + "\n")
            fh.flush()
            os.fsync(fh.fileno())  # whole on disk before it has its name
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # made by a sibling process meanwhile
        except OSError:  # a file system without hard links: claim the name, then fill it
            _create_alone(path, tmp.read_text())
        finally:
            tmp.unlink()
    return settings.with_(secret_keys=read_key_file(path), key_file=path)


def _create_alone(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def new_secret_key() -> str:
    return secrets.token_urlsafe(32)


def read_key_file(path: Path) -> tuple[str, ...]:
    """The keys of a key file, one per line, the one that encrypts first."""
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


def write_key_file(path: Path, keys: tuple[str, ...]) -> None:
    """Replace the key file in one step (readers see the old or the new list, never half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{key}\n" for key in keys))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
