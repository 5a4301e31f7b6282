"""Process logging: one format, a level from PUBLISHER_LOG_LEVEL, and no credentials.

Every record passes through `redact` before any handler writes it, whoever logged it:
urllib3 logs request URLs at DEBUG, and a Graph API GET carries its token in the query.
"""

from __future__ import annotations

import logging

from adapters.redaction import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Rewrites the record's message (and its traceback text) without credential values."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure(level: str = "INFO") -> None:
    """Log to stderr at `level` (a name such as DEBUG or INFO), credentials redacted."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
    logging.getLogger("alembic").setLevel(logging.WARNING)


def shown_url(url: str) -> str:
    """A URL for a person to read (a log line, an error): its password hidden."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
