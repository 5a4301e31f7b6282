"""Facebook Login's manual flow as Meta publishes it (facebook-login/guides/advanced/
manual-flow; pages-api/getting-started): the login dialog `GET /{version}/dialog/oauth`
(client_id, redirect_uri, state, scope) sends the browser back with `code` and `state`;
`GET /{version}/oauth/access_token` exchanges the code (with client_id, client_secret and
the same redirect_uri) for a user token, or a user token for a long-lived one
(`grant_type=fb_exchange_token`), each `{"access_token", "token_type": "bearer",
"expires_in"}`; `GET /{version}/me/accounts` lists the Pages the person granted, each with
its Page token. A code works once (code 100, subcode 36009).

Where Facebook shows the person a dialog, the sandbox consents at once, as the login named
by the control API (`ledger.oauth_login["facebook"]`, default "sandbox"), who manages the
Pages of `ledger.oauth_pages` for that login (by default one Page with an Instagram
business account); "deny" refuses like a person pressing Cancel."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, request

from adapters.sandbox.ledger import Ledger

CODE_S = 600
SHORT_TOKEN_S = 3600
LONG_TOKEN_S = 5183944  # about 60 days, as recorded answers show


def default_pages(login: str) -> list[dict[str, Any]]:
    """The Pages a sandbox login manages unless a test says otherwise."""
    digits = str(int.from_bytes(login.encode()[:6].ljust(6, b"\0"), "big") % 10**9)
    return [
        {
            "id": f"10{digits}",
            "name": f"{login.title()} Page",
            "instagram": {"id": f"17841{digits.zfill(10)}", "username": f"{login}_ig"},
        }
    ]


def page_id_of(token: str, ledger: Ledger | None = None) -> str:
    """The Page a Page token acts for: the one it was issued for by `me/accounts`; a token
    the sandbox did not issue stands for a Page whose id is derived from it (as X's
    sandbox derives a user), so a test can name the Page its fixed token acts for."""
    page = ledger.page_accounts.get(token) if ledger is not None else None
    if page is not None:
        return page["id"]
    return str(int(hashlib.sha256(token.encode()).hexdigest()[:12], 16))


def graph_oauth_blueprint(ledger: Ledger, error: Callable[..., Any]) -> Blueprint:
    bp = Blueprint("sandbox_graph_oauth", __name__)
    codes: dict[str, dict[str, Any]] = {}

    def pages_of(login: str) -> list[dict[str, Any]]:
        return ledger.oauth_pages.get(login) or default_pages(login)

    @bp.get("/<version>/dialog/oauth")
    def dialog(version: str):
        args = request.args
        if not args.get("client_id") or not args.get("redirect_uri"):
            return error(400, 100, "Invalid parameter: client_id and redirect_uri are required")
        target, login = args["redirect_uri"], ledger.oauth_login.get("facebook", "sandbox")
        sep = "&" if "?" in target else "?"
        if login == "deny":
            refused = {
                "error": "access_denied",
                "error_code": "200",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
                "state": args.get("state", ""),
            }
            return redirect(f"{target}{sep}{urlencode(refused)}")
        code = secrets.token_urlsafe(32)
        codes[code] = {
            "client_id": args["client_id"],
            "redirect_uri": target,
            "login": login,
            "expires": time.time() + CODE_S,
            "used": False,
        }
        return redirect(f"{target}{sep}{urlencode({'code': code, 'state': args.get('state', '')})}")

    def token(login: str, lifetime: int, *, long: bool) -> dict[str, Any]:
        value = secrets.token_urlsafe(32)
        ledger.token_users[value] = login
        ledger.token_kinds[value] = "user_long" if long else "user"
        return {"access_token": value, "token_type": "bearer", "expires_in": lifetime}

    @bp.get("/<version>/oauth/access_token")
    def access_token(version: str):
        args = request.args
        if not args.get("client_id") or not args.get("client_secret"):
            return error(400, 101, "Error validating application. Invalid application ID.")
        if args.get("grant_type") == "fb_exchange_token":
            short = args.get("fb_exchange_token", "")
            login = ledger.token_users.get(short)
            if login is None or ledger.token_expired(short):
                return error(400, 190, "Invalid OAuth access token - Cannot parse access token")
            return jsonify(token(login, LONG_TOKEN_S, long=True))
        grant = codes.get(args.get("code", ""))
        if grant is None or grant["client_id"] != args["client_id"]:
            return error(400, 100, "Invalid verification code format.")
        if grant["used"]:
            return error(400, 100, "This authorization code has been used.", subcode=36009)
        if grant["expires"] < time.time():
            return error(400, 100, "This authorization code has expired.", subcode=36007)
        if grant["redirect_uri"] != args.get("redirect_uri"):
            return error(
                400,
                100,
                "Error validating verification code. Please make sure your redirect_uri is "
                "identical to the one you used in the OAuth dialog request",
                subcode=36008,
            )
        grant["used"] = True
        return jsonify(token(grant["login"], SHORT_TOKEN_S, long=False))

    @bp.get("/<version>/me")
    def me(version: str):
        """`/me` is "the person or Page whose access token is currently being used"
        (graph-api/overview, "/me"): a user token answers the person, a Page token the
        Page, `{"name", "id"}` by default."""
        token = (request.args.get("access_token") or "").strip()
        if not token:
            return error(
                400,
                2500,
                "An active access token must be used to query information about the current user.",
            )
        if ledger.token_expired(token):
            return error(
                400, 190, "Error validating access token: Session has expired.", subcode=463
            )
        fault = ledger.take_fault("facebook", on="account")
        if fault is not None and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault", subcode=fault.subcode)
        login = ledger.token_users.get(token)
        if login is not None:
            person = int(hashlib.sha256(login.encode()).hexdigest()[:12], 16)
            return jsonify({"name": login.title(), "id": str(person)})
        page_id = page_id_of(token, ledger)
        page = ledger.page_accounts.get(token)
        return jsonify({"name": page["name"] if page else f"Sandbox Page {page_id}", "id": page_id})

    @bp.get("/<version>/me/accounts")
    def accounts(version: str):
        user_token = (request.args.get("access_token") or "").strip()
        login = ledger.token_users.get(user_token)
        if login is None or ledger.token_expired(user_token):
            return error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        data = []
        for page in pages_of(login):
            page_token = ledger.page_tokens.setdefault(
                (login, page["id"]), f"page-{page['id']}-{secrets.token_urlsafe(16)}"
            )
            ledger.page_accounts[page_token] = page
            data.append(
                {
                    "access_token": page_token,
                    "category": "Community",
                    "category_list": [{"id": "2612", "name": "Community"}],
                    "name": page["name"],
                    "id": page["id"],
                    "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                }
            )
        return jsonify({"data": data, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}})

    return bp
