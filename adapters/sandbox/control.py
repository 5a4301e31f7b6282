"""The sandbox's control API (what tests and benchmarks drive), and injected answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request

from adapters.sandbox import hooks_out
from adapters.sandbox.ledger import Fault, Ledger

# What the sandbox can send an engine, as the platforms' webhooks deliver it.
WEBHOOK_EVENTS = {
    name: getattr(hooks_out, name)
    for name in (
        "x_reply",
        "x_mention",
        "x_repost",
        "x_like",
        "x_follow",
        "meta_comment",
        "meta_reaction",
        "meta_mention",
        "instagram_comment",
        "instagram_mention",
    )
}


def control_blueprint(ledger: Ledger) -> Blueprint:
    """GET ledger, POST faults / latency / expired tokens / webhooks sent / reset."""
    bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")

    @bp.get("/ledger")
    def ledger_view():
        platform = request.args.get("platform")
        return jsonify([a.as_dict() for a in ledger.accepted(platform)])

    @bp.post("/faults")
    def inject():
        body = request.get_json(force=True)
        platform = body.pop("platform")
        ledger.inject(platform, Fault(**body))
        return jsonify({"ok": True})

    @bp.post("/latency")
    def latency():
        """{"platform", "seconds"}, and "account" to slow one account only."""
        body = request.get_json(force=True)
        key = body["platform"] + (f":{body['account']}" if body.get("account") else "")
        ledger.latency_s[key] = float(body["seconds"])
        return jsonify({"ok": True})

    @bp.post("/media-processing")
    def media_processing():
        """{"seconds"}: how long uploaded videos and Instagram containers stay in process."""
        ledger.media_processing_s = float(request.get_json(force=True)["seconds"])
        return jsonify({"ok": True})

    @bp.post("/metrics")
    def metrics():
        """{"platform", "external_id", "counts": {...}} in the platform's own names."""
        body = request.get_json(force=True)
        ledger.set_metrics(body["platform"], body["external_id"], **body["counts"])
        return jsonify({"ok": True})

    @bp.post("/followers")
    def followers():
        """{"platform", "account", "count"}: how many follow that account now."""
        body = request.get_json(force=True)
        ledger.followers[(body["platform"], str(body["account"]))] = int(body["count"])
        return jsonify({"ok": True})

    @bp.post("/expire-token")
    def expire():
        ledger.expire_token(request.get_json(force=True)["token"])
        return jsonify({"ok": True})

    @bp.post("/oauth")
    def oauth():
        """{"platform", "login"} who consents next ("deny" refuses), "lifetime_s" of X
        access tokens, "pages" the Facebook login manages."""
        body = request.get_json(force=True)
        if body.get("login"):
            ledger.oauth_login[body["platform"]] = body["login"]
        if body.get("lifetime_s"):
            ledger.oauth_lifetime_s = float(body["lifetime_s"])
        if body.get("pages") is not None:
            login = body.get("login") or ledger.oauth_login.get("facebook", "sandbox")
            ledger.oauth_pages[login] = body["pages"]
        return jsonify({"ok": True})

    @bp.post("/instagram-quota")
    def instagram_quota():
        """{"total"}: Instagram's publishing allowance per 24 hours."""
        ledger.ig_quota_total = int(request.get_json(force=True)["total"])
        return jsonify({"ok": True})

    @bp.post("/duplicates")
    def duplicates():
        """{"refused": false}: accept a repeated text, as a platform that does not refuse
        duplicates would (at-most-once is then the engine's alone)."""
        ledger.duplicates_refused = bool(request.get_json(force=True)["refused"])
        return jsonify({"ok": True})

    @bp.post("/webhooks")
    def webhook():
        """Send one delivery to an engine, signed as the platform signs it: {"url" (its
        /v1/hooks/{platform}), "secret" (X's consumer secret or the Meta app secret),
        "event" (a hooks_out builder: WEBHOOK_EVENTS), "args" (the builder's; "at" an ISO
        time, now if left out; a person as a list)}. Answers what the engine answered."""
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("args", {}), dict):
            return jsonify({"error": "send {url, secret, event, args}"}), 400
        build = WEBHOOK_EVENTS.get(body.get("event"))
        if build is None:
            return jsonify({"error": f"event: one of {sorted(WEBHOOK_EVENTS)}"}), 400
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in body.get("args", {}).items()}
        try:
            args["at"] = datetime.fromisoformat(args["at"]) if "at" in args else datetime.now(UTC)
            payload = build(**args)
            url, secret = str(body["url"]), str(body["secret"])
        except (TypeError, ValueError, KeyError) as exc:
            return jsonify({"error": f"args: {exc!r}"}), 400
        platform = "x" if body["event"].startswith("x_") else body["event"].split("_")[0]
        platform = "facebook" if platform == "meta" else platform
        sent = hooks_out.send(url, platform, payload, secret)
        try:
            answer = sent.json() if sent.content else None
        except ValueError:  # not JSON: as it came
            answer = sent.text
        return jsonify({"status": sent.status_code, "body": answer})

    @bp.post("/reset")
    def reset():
        ledger.reset()
        return jsonify({"ok": True})

    return bp


def serve_fault(fault: Fault | None, error_body: Any, headers: dict | None = None):
    """The injected answer for `fault`, or None to serve normally."""
    if fault is None or fault.status is None:
        return None
    response = jsonify(error_body)
    response.status_code = fault.status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
