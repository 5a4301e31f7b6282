"""The HTTP API: `create_app(settings)` is its composition root."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from api.core import keys
from api.deliver import pauses
from api.engage import audience, best_times, hooks
from api.engage import links as short_links
from api.engage import members as community
from api.engage import reports as campaign_reports
from api.http import context, errors
from api.http.problems import problems_blueprint
from api.http.reference import reference_page
from api.http.spec import openapi_document
from api.plan import campaigns, channels, media, posts, publications
from api.record import audit, webhooks
from api.review import page as review_page
from api.review import policies, reviews
from publisher.core.clock import ClockSkewed, beats
from publisher.core.schemas import MAX_ID
from publisher.core.settings import Settings
from publisher.runtime import Runtime, build_runtime
from publisher.system.migrate import missing_revisions

API_VERSION = "0.1.0"
MAX_BODY_BYTES = 1024 * 1024


class IdConverter(IntegerConverter):
    """`<int:...>` path ids stop at the database's 32-bit range: beyond it is a 404 for
    every method. (A converter's ValidationError would let werkzeug answer 405 when
    another rule on the same path takes other methods.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound(f"no object has the id {value}: ids go up to {MAX_ID}")
        return number


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """The Flask app; pass a built `runtime` to share one (tests), else one is built."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.url_map.converters["int"] = IdConverter
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["publisher"] = runtime or build_runtime(settings or Settings.from_env())
    errors.init_app(app)
    context.init_app(app)

    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    for module in (
        channels,
        campaigns,
        posts,
        reviews,
        publications,
        keys,
        pauses,
        media,
        policies,
        webhooks,
        audit,
        hooks,
    ):
        v1.register_blueprint(module.bp)
    v1.register_blueprint(hooks.listing)
    v1.register_blueprint(community.members)
    v1.register_blueprint(community.events)
    v1.register_blueprint(short_links.bp)
    v1.register_blueprint(campaign_reports.bp)
    v1.register_blueprint(campaign_reports.community_bp)
    v1.register_blueprint(best_times.bp)
    v1.register_blueprint(audience.bp)
    app.register_blueprint(v1)
    app.register_blueprint(media.public)
    app.register_blueprint(problems_blueprint())
    app.register_blueprint(channels.callback)
    app.register_blueprint(review_page.bp)
    app.register_blueprint(short_links.redirects)

    @app.get("/healthz")
    def health():
        # `instance`: set by `publisher up` for its API, which waits for its own answer.
        return jsonify({"status": "ok", "instance": app.extensions["publisher"].settings.instance})

    @app.get("/readyz")
    def ready():
        checks = readiness(app.extensions["publisher"])
        failing = {name: check for name, check in checks.items() if not check["ok"]}
        body = {"status": "not ready" if failing else "ready", "checks": checks}
        return jsonify(body), 503 if failing else 200

    @app.get("/openapi.json")
    def spec():
        return jsonify(_document(app))

    @app.get("/docs")
    def docs():
        return Response(
            reference_page(_document(app)),
            mimetype="text/html",
        )

    return app


def readiness(rt: Runtime) -> dict[str, dict]:
    """What the engine needs, each checked now: the database at the schema's head, Redis,
    and every live process's clock within PUBLISHER_MAX_CLOCK_OFFSET_S of the shared one."""
    checks: dict[str, dict] = {}
    try:
        missing = missing_revisions(rt.engine)
        checks["database"] = {
            "ok": not missing,
            "detail": "at head" if not missing else f"run `publisher db upgrade` ({missing})",
        }
    except SQLAlchemyError as exc:
        checks["database"] = {"ok": False, "detail": f"unreachable: {type(exc).__name__}"}
    try:
        rt.redis.ping()
        checks["redis"] = {"ok": True, "detail": "answers"}
    except RedisError as exc:
        checks["redis"] = {"ok": False, "detail": f"unreachable: {type(exc).__name__}"}
        return checks
    if rt.shared is not None:
        # This process is not ready when its own clock is off; the others' (each says
        # how far it is, every few seconds) are listed, for whoever watches them: one
        # skewed worker stands aside by itself and must not take every API out of service.
        bound = rt.settings.max_clock_offset_s
        try:
            rt.check_clock("api")
            own_ok = True
        except ClockSkewed:
            own_ok = False
        offsets = beats(rt.redis, rt.beat_prefix, now=rt.shared().timestamp())
        checks["clock"] = {
            "ok": own_ok,
            "detail": f"offset from the shared clock (Redis TIME): {rt.shared.offset_s:+.3f} s, "
            f"bound {bound:g} s",
            "offsets_s": offsets,
            "skewed": sorted(name for name, o in offsets.items() if abs(o) > bound),
        }
    return checks


def _document(app: Flask) -> dict:
    platforms = sorted(app.extensions["publisher"].registry)
    return openapi_document(app, title="Publisher API", version=API_VERSION, platforms=platforms)
