"""/v1/audit: the workspace's whole audit log, as JSON Lines (read-only: no API writes it)."""

from __future__ import annotations

from flask import Blueprint, Response, g, json

from api.context import actor, runtime
from api.spec import endpoint
from publisher import audit
from publisher.models import Event
from publisher.review_schemas import AuditQuery, EventRead
from publisher.workspaces import Permission

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("")
@endpoint("Export the workspace's audit log as JSON Lines, oldest first", query=AuditQuery)
def export():
    who, q = actor(), g.query
    who.require(Permission.READ_AUDIT)
    session = runtime().session()  # its own: the export streams after this view returns

    def lines():
        try:
            for event in audit.export(
                session, who, since=q.since, until=q.until, after_id=q.after_id
            ):
                yield _line(event)
        finally:
            session.close()

    return Response(lines(), mimetype="application/x-ndjson")


def _line(event: Event) -> str:
    read = EventRead.model_validate(event).model_dump(mode="json")
    return json.dumps(read, ensure_ascii=False) + "\n"
