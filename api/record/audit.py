"""/v1/audit: the workspace's whole audit log, as JSON Lines (read-only: no API writes it)."""

from __future__ import annotations

from flask import Blueprint, Response, g, json

from api.http.context import actor, runtime
from api.http.spec import endpoint
from publisher.core.models import Event
from publisher.core.workspaces import Permission
from publisher.record import revisions
from publisher.record.schemas import AuditQuery, EventRead

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("")
@endpoint(
    "Export the workspace's audit log as JSON Lines, oldest first",
    query=AuditQuery,
    permission=Permission.READ_AUDIT,
)
def export():
    who, q, rt = actor(), g.query, runtime()
    who.require(Permission.READ_AUDIT)

    def lines():
        # A short transaction per page (the export streams after this view returns, and
        # a slow reader must not hold SQLite's write lock, which every transaction takes).
        after = q.after_id
        while True:
            with rt.session() as session:
                page = revisions.list_export(
                    session, who, since=q.since, until=q.until, after_id=after
                )
            yield from (_line(event) for event in page)
            if len(page) < revisions.EXPORT_PAGE:
                return
            after = page[-1].id

    return Response(lines(), mimetype="application/x-ndjson")


def _line(event: Event) -> str:
    read = EventRead.model_validate(event).model_dump(mode="json")
    return json.dumps(read, ensure_ascii=False) + "\n"
