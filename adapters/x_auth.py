"""X's OAuth 2.0 token endpoint (docs.x.com/resources/fundamentals/authentication/oauth-2-0/
authorization-code): the code exchange and the refresh, as the credentials a channel
stores. tweepy's OAuth2UserHandler is not used: it hard-codes twitter.com and oauthlib
refuses plain-HTTP hosts such as the sandbox; the flow is two form posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from adapters.errors import AuthExpired, Transient
from adapters.http import PlatformSession, translate_transport
from adapters.types import AdapterConfig, OAuthApp

API_HOST = "https://api.twitter.com"
TOKEN_ROUTE = "/2/oauth2/token"


def token_request(app: OAuthApp, form: dict[str, str], config: AdapterConfig) -> dict[str, Any]:
    """POST /2/oauth2/token: a confidential client authenticates with HTTP Basic, a public
    one names itself. Answers the credentials a channel stores."""
    session = PlatformSession(API_HOST, config)
    auth = (app.client_id, app.client_secret) if app.client_secret else None
    body = form if auth else {**form, "client_id": app.client_id}
    try:
        response = session.post(API_HOST + TOKEN_ROUTE, data=body, auth=auth)
    except requests.RequestException as exc:
        raise Transient(f"X token request: {translate_transport(exc)}") from exc
    finally:
        session.close()
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if response.status_code in (400, 401):
        detail = answer.get("error_description") or answer.get("error") or response.reason
        raise AuthExpired(f"X {response.status_code}: {detail}")
    if response.status_code != 200 or not answer.get("access_token"):
        raise Transient(f"X token request answered {response.status_code}")
    try:
        lifetime = int(answer.get("expires_in", 7200))
    except (TypeError, ValueError):
        lifetime = 7200  # X's documented lifetime when its answer does not say
    expires = datetime.now(UTC) + timedelta(seconds=lifetime)
    tokens = {"access_token": answer["access_token"], "expires_at": expires.isoformat()}
    if answer.get("refresh_token"):
        tokens["refresh_token"] = answer["refresh_token"]
    return tokens
