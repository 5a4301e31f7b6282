"""X's OAuth 2.0 authorization code flow with PKCE (docs.x.com/resources/fundamentals/
authentication/oauth-2-0/authorization-code; X API v2 2.167 securitySchemes.OAuth2UserToken):
`GET /i/oauth2/authorize` (response_type=code, client_id, redirect_uri, scope, state,
code_challenge, code_challenge_method S256 or plain) sends the browser back to redirect_uri
with `code` and `state`; `POST /2/oauth2/token` exchanges the code (with its code_verifier)
or a refresh token for `{"token_type": "bearer", "expires_in": 7200, "access_token",
"scope", "refresh_token"}` (a refresh token only with `offline.access`). Codes live 30 s
and are single-use; a refresh token is single-use (a refresh returns a new one); access
tokens expire after two hours. Confidential clients authenticate with HTTP Basic.

Where X shows the person a consent screen, the sandbox consents at once, as the account
named by the control API (`/_sandbox/oauth-login`, default "sandbox"); `deny` refuses."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, request

from adapters.sandbox.ledger import Ledger
from adapters.sandbox.x_common import user_id_of
from adapters.sandbox.x_spec import spec

ACCESS_TOKEN_S = 7200
CODE_S = 30


def _published_scopes() -> set[str]:
    schemes = spec().document["components"]["securitySchemes"]
    return set(schemes["OAuth2UserToken"]["flows"]["authorizationCode"]["scopes"])


def _oauth_error(description: str, error: str = "invalid_request", status: int = 400):
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return response


def _challenge(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def x_oauth_blueprint(ledger: Ledger) -> Blueprint:
    bp = Blueprint("sandbox_x_oauth", __name__)
    codes: dict[str, dict] = {}
    refresh_tokens = ledger.refresh_tokens

    def client() -> tuple[str, str | None]:
        """The client id, and the secret when it authenticates with HTTP Basic."""
        basic = request.authorization
        if basic is not None and basic.type == "basic":
            return basic.username or "", basic.password
        return request.form.get("client_id", ""), None

    def issue(grant: dict) -> dict:
        access = secrets.token_urlsafe(32)
        ledger.token_scopes[access] = set(grant["scopes"])
        ledger.token_users[access] = grant["user_id"]
        ledger.token_expiry[access] = time.time() + ledger.oauth_lifetime_s
        answer = {
            "token_type": "bearer",
            "expires_in": int(ledger.oauth_lifetime_s),
            "access_token": access,
            "scope": " ".join(sorted(grant["scopes"])),
        }
        if "offline.access" in grant["scopes"]:
            refresh = secrets.token_urlsafe(32)
            refresh_tokens[refresh] = grant
            answer["refresh_token"] = refresh
        return answer

    @bp.get("/i/oauth2/authorize")
    def authorize():
        args = request.args
        missing = [
            k
            for k in (
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
            )
            if not args.get(k)
        ]
        if missing or args["response_type"] != "code":
            return _oauth_error(f"missing or invalid: {', '.join(missing) or 'response_type'}")
        method = args.get("code_challenge_method", "plain")
        scopes = set(args["scope"].split())
        unknown = scopes - _published_scopes()
        if method not in ("S256", "plain") or unknown:
            return _oauth_error(f"unknown scopes {sorted(unknown)} or challenge method")
        target = args["redirect_uri"]
        sep = "&" if "?" in target else "?"
        if ledger.oauth_login.get("x") == "deny":
            refusal = urlencode({"error": "access_denied", "state": args["state"]})
            return redirect(f"{target}{sep}{refusal}")
        code = secrets.token_urlsafe(24)
        codes[code] = {
            "client_id": args["client_id"],
            "redirect_uri": target,
            "challenge": args["code_challenge"],
            "method": method,
            "scopes": scopes,
            "user_id": user_id_of("login:" + ledger.oauth_login.get("x", "sandbox")),
            "expires": time.time() + CODE_S,
        }
        return redirect(f"{target}{sep}{urlencode({'state': args['state'], 'code': code})}")

    @bp.post("/2/oauth2/token")
    def token():
        client_id, _secret = client()
        kind = request.form.get("grant_type")
        if kind == "authorization_code":
            grant = codes.pop(request.form.get("code", ""), None)
            verifier = request.form.get("code_verifier", "")
            if (
                grant is None
                or grant["expires"] < time.time()
                or grant["client_id"] != client_id
                or grant["redirect_uri"] != request.form.get("redirect_uri")
                or _challenge(verifier, grant["method"]) != grant["challenge"]
            ):
                return _oauth_error("Value passed for the authorization code was invalid.")
            return jsonify(issue(grant))
        if kind == "refresh_token":
            ledger.refreshes += 1
            grant = refresh_tokens.pop(request.form.get("refresh_token", ""), None)
            if grant is None or grant["client_id"] != client_id:
                return _oauth_error("Value passed for the token was invalid.")
            return jsonify(issue(grant))
        return _oauth_error(f"unsupported grant_type {kind!r}", "unsupported_grant_type")

    return bp
