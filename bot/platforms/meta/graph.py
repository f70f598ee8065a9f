"""A thin typed client for Meta's Graph API (Facebook Pages and Instagram professional accounts), over requests.

Why a client of its own rather than passing dicts to `requests`:

* The Page token never travels in a URL. urllib3 logs every request's path and query at DEBUG, and Meta's own
  `paging.next` links carry `access_token=...`; so the token goes in an `Authorization: Bearer` header, pages are
  resumed with the `after` cursor (never by following `paging.next`), and the `appsecret_proof` (which a GET can
  only send in its query) is scrubbed from urllib3's log records by a filter installed here.
* Every failure becomes one `GraphError` whose `kind` tells the caller what to do next (set a new token, wait,
  ask for a permission, look before retrying, or give up) and whose `str()` says so in words an agent can act on.
  Nothing it carries (message, repr, traceback) contains the token, the proof or the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import requests

from bot.i18n import _, n_

__all__ = [
    "PERMISSION",
    "RATE_LIMIT",
    "REFUSED",
    "TOKEN",
    "UNSURE",
    "GraphClient",
    "GraphError",
    "appsecret_proof",
]

log = logging.getLogger("heard.meta.graph")

JSONDict = dict[str, Any]

# The kinds of GraphError, by what the caller does next.
TOKEN = "token"  # set a new META_PAGE_TOKEN; nothing works until then
RATE_LIMIT = "rate_limit"  # wait `retry_after` seconds
PERMISSION = "permission"  # the Meta app (or the token) lacks a permission
UNSURE = "unsure"  # the request may have been done: look before doing it again
REFUSED = "refused"  # Meta said no, and nothing was done
KINDS = frozenset({TOKEN, RATE_LIMIT, PERMISSION, UNSURE, REFUSED})

# Graph error codes (developers.facebook.com/docs/graph-api/guides/error-handling and .../overview/rate-limiting):
# 190 access token expired or invalid, 102 API session; 4 app, 17 user, 32 Page, 613 custom rate limits, and the
# Business Use Case limits 80000-80014 (80001 Pages, 80002 Instagram, 80006 Messenger ...); 10 and 200-299
# permissions; 1 unknown and 2 service (both transient: the call may have been done).
_TOKEN_CODES = frozenset({190, 102})
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
_PERMISSION_CODES = frozenset({10, *range(200, 300)})
_TRANSIENT_CODES = frozenset({1, 2})
# Codes in the permission range that are not a missing permission: Messenger's "outside of allowed window"
# (10/2018278, 10/2534022), "this person isn't receiving messages from you" (10/2018108), and "this person isn't
# available right now" (200/1545041). Listed in Meta's Messenger Platform error codes page
# (developers.facebook.com/docs/messenger-platform/error-codes); granting a permission would not help.
_NOT_A_PERMISSION = frozenset({(10, 2018278), (10, 2534022), (10, 2018108), (200, 1545041)})
OUTSIDE_WINDOW_SUBCODES = frozenset({2018278, 2534022})
# "(#10900) Activity already replied to": the one private reply a comment allows was sent already. Not recorded in
# Meta's public docs; the code and text are what several public integrations handle (searched on GitHub).
ALREADY_REPLIED_CODE = 10900

# A permission named in Meta's message, e.g. "requires the 'pages_read_engagement' permission" or
# "(#200) Requires pages_manage_engagement permission to manage the object".
_PERMISSION_NAME = re.compile(
    r"\b((?:pages|instagram|business|ads|read|publish|manage|whatsapp|leads)_[a-z][a-z_]*[a-z])\b"
)
_QUERY_SECRET = re.compile(r"((?:access_token|appsecret_proof|client_secret)=)[^&\s\"'<>]+", re.IGNORECASE)
REDACTED = "[redacted]"

MESSAGE_LIMIT = 300
# Without usage headers that say more, wait a minute after a rate limit; when a usage figure has reached 100 %,
# five (Meta's counters are rolling windows, typically an hour, that drain slowly).
DEFAULT_RATE_LIMIT_WAIT = 60.0
SATURATED_WAIT = 300.0
_USAGE_HEADERS = {"app": "X-App-Usage", "page": "X-Page-Usage", "business": "X-Business-Use-Case-Usage"}
_USAGE_FIGURES = ("call_count", "total_time", "total_cputime")


def appsecret_proof(token: str, app_secret: str) -> str:
    """Hex HMAC-SHA256 of the access token keyed with the app secret, as Graph expects in `appsecret_proof`."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


class GraphError(Exception):
    """A Graph API call that did not succeed.

    `kind`: `"token"`, `"rate_limit"`, `"permission"`, `"unsure"` or `"refused"` (see the module's constants).
    `message` is Meta's own message (at most 300 characters, secrets scrubbed) or, for a transport failure, what
    happened; `str(error)` is a sentence for people. `permission` names the permission Meta asked for when it said
    which; `retry_after` (seconds) is set for rate limits.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        label: str = "Facebook",
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        permission: str | None = None,
        retry_after: float | None = None,
        trace_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown GraphError kind {kind!r}")
        self.kind = kind
        self.message = message[:MESSAGE_LIMIT]
        self.label = label
        self.status = status
        self.code = code
        self.subcode = subcode
        self.permission = permission
        self.retry_after = retry_after
        # Meta's fbtrace_id: what Meta's support asks for.
        self.trace_id = trace_id
        # For "unsure": "timeout", "connection", "server" (HTTP 5xx or code 1/2) or "answer" (unreadable answer).
        self.reason = reason
        super().__init__(self.message)

    @property
    def already_replied(self) -> bool:
        """Meta refused a private reply because the comment already has one (so it was sent, maybe by us)."""
        return self.code == ALREADY_REPLIED_CODE

    @property
    def outside_window(self) -> bool:
        """Meta refused a message because its window has closed (7 days for a private reply to a comment)."""
        return self.code == 10 and self.subcode in OUTSIDE_WINDOW_SUBCODES

    def __str__(self) -> str:
        """What went wrong, in words for the person who asked (the network's own message stays in English)."""
        network = self.label
        if self.kind == TOKEN:
            # Translators: META_PAGE_TOKEN is a setting's name: keep it as it is.
            return _(
                "%(network)s refused the Page token (expired or revoked): set a new META_PAGE_TOKEN", network=network
            )
        if self.kind == RATE_LIMIT:
            minutes = max(1, math.ceil((self.retry_after or DEFAULT_RATE_LIMIT_WAIT) / 60))
            return n_(
                "%(network)s's rate limit is reached; Heard tries again in about %(count)s minute",
                "%(network)s's rate limit is reached; Heard tries again in about %(count)s minutes",
                minutes,
                network=network,
            )
        if self.kind == PERMISSION:
            if self.permission:
                # Translators: the permission is Meta's name for it, e.g. "pages_manage_engagement".
                return _(
                    "%(network)s needs the %(permission)s permission for this",
                    network=network,
                    permission=self.permission,
                )
            return _(
                "%(network)s refused this for lack of a permission (%(message)s): check the Meta app's permissions "
                "and make a new Page token that has them",
                network=network,
                message=self.message,
            )
        if self.kind == UNSURE:
            if self.reason == "timeout":
                return _(
                    "%(network)s did not answer in time: it may or may not have been done; check before trying again",
                    network=network,
                )
            if self.reason == "connection":
                return _(
                    "Heard could not reach %(network)s (%(message)s): it may or may not have been done; check before "
                    "trying again",
                    network=network,
                    message=self.message,
                )
            if self.reason == "answer":
                return _(
                    "%(network)s's answer could not be read: it may or may not have been done; check before trying "
                    "again",
                    network=network,
                )
            if self.status:
                return _(
                    "%(network)s had a server error (HTTP %(status)s): it may or may not have been done; check before "
                    "trying again",
                    network=network,
                    status=self.status,
                )
            return _(
                "%(network)s had a server error (a temporary error): it may or may not have been done; check before "
                "trying again",
                network=network,
            )
        if self.already_replied:
            return _(
                "%(network)s allows one private reply per comment, and this comment already has one", network=network
            )
        if self.outside_window:
            return _(
                "%(network)s refused the private message: its window has closed (7 days after the comment)",
                network=network,
            )
        # Translators: the message is Meta's own, in English.
        return _("%(network)s refused this: %(message)s", network=network, message=self.message)

    def __repr__(self) -> str:
        return (
            f"GraphError(kind={self.kind!r}, status={self.status!r}, code={self.code!r}, subcode={self.subcode!r}, "
            f"message={self.message!r})"
        )


class _RedactQuerySecrets(logging.Filter):
    """Scrubs `access_token=` and `appsecret_proof=` values from urllib3's log records (it logs each request's
    path and query at DEBUG, and URLs in its retry warnings), whatever LOG_LEVEL says."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not ours to fix; let logging report it as usual
            return True
        if _QUERY_SECRET.search(text):
            record.msg = _QUERY_SECRET.sub(r"\1" + REDACTED, text)
            record.args = ()
        return True


_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry")
_guard_lock = threading.Lock()
_guard = _RedactQuerySecrets()


def _guard_urllib3_logs() -> None:
    with _guard_lock:
        for name in _URLLIB3_LOGGERS:
            logger = logging.getLogger(name)
            if _guard not in logger.filters:
                logger.addFilter(_guard)


class GraphClient:
    """Calls Graph at `base_url` (e.g. `https://graph.facebook.com/v23.0/`, ending with '/') with one token.

    `label` names the network in error sentences ("Facebook", "Instagram"). `usage` holds the last usage headers
    Meta sent (`app`, `page`, `business`), parsed.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        app_secret: str | None,
        timeout: float | timedelta,
        session: requests.Session | None = None,
        *,
        label: str = "Facebook",
        failed: Callable[[str], None] | None = None,
    ) -> None:
        if not base_url.endswith("/"):
            # urljoin-style joining drops the version segment without it.
            raise ValueError("base_url must end with '/'")
        self._base_url = base_url
        self._token = token
        self._proof = appsecret_proof(token, app_secret) if app_secret else None
        self._secrets = tuple(secret for secret in (token, self._proof, app_secret) if secret)
        self._timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self._session = session if session is not None else requests.Session()
        self.label = label
        # Told of each failed call: the HTTP status, or "timeout" / "connection" (/metrics counts them).
        self._failed = failed or (lambda _status: None)
        self.usage: dict[str, Any] = {}
        _guard_urllib3_logs()

    def __repr__(self) -> str:
        return f"GraphClient({self._base_url!r}, label={self.label!r})"

    # -- calls ---------------------------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> JSONDict:
        """GET `path` (relative to the base URL, e.g. `123_456/comments`) with query `params`."""
        query = {key: _form_value(value) for key, value in (params or {}).items() if value is not None}
        if self._proof:
            query["appsecret_proof"] = self._proof
        return self._request("GET", path, params=query)

    def post(self, path: str, data: Mapping[str, Any] | None = None) -> JSONDict:
        """POST `data` to `path`: as JSON when a value is an object or a list (the Send API's `recipient` and
        `message`), else form-encoded (`message=...`, `is_hidden=true`). The proof travels in the body."""
        payload = {key: value for key, value in (data or {}).items() if value is not None}
        if self._proof:
            payload["appsecret_proof"] = self._proof
        if any(isinstance(value, dict | list) for value in payload.values()):
            return self._request("POST", path, json_body=payload)
        return self._request("POST", path, form={key: _form_value(value) for key, value in payload.items()})

    def next_page(
        self, path: str, params: Mapping[str, Any] | None = None, after: str | None = None
    ) -> tuple[list[JSONDict], str | None]:
        """One page of a list edge: its `data`, and the cursor of the next page (None on the last page).

        Resume a listing by passing the cursor back as `after` (or as `params["after"]`)."""
        query = dict(params or {})
        if after is not None:
            query["after"] = after
        body = self.get(path, query)
        data = body.get("data")
        if not isinstance(data, list):
            raise GraphError(UNSURE, "the answer has no data list", label=self.label, status=200, reason="answer")
        paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
        cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
        cursor = cursors.get("after")
        # Meta keeps the cursors on the last page too; only `next` says there is more.
        more = bool(paging.get("next")) and isinstance(cursor, str) and bool(cursor)
        return [item for item in data if isinstance(item, dict)], (cursor if more else None)

    def paged(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[tuple[list[JSONDict], str | None]]:
        """Every page of a list edge in turn, as (data, cursor of the next page or None). Stops after the page
        without `paging.next`. `params["after"]` starts from a saved cursor."""
        query = dict(params or {})
        after = query.pop("after", None)
        while True:
            data, after = self.next_page(path, query, after)
            yield data, after
            if after is None:
                return

    # -- mechanics -------------------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> JSONDict:
        url = self._base_url + path.lstrip("/")
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        failure: GraphError | None = None
        response: requests.Response | None = None
        try:
            response = self._session.request(
                method,
                url,
                params=params or None,
                data=form,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
            )
        except requests.Timeout:
            failure = GraphError(UNSURE, f"no answer within {self._timeout:g} s", label=self.label, reason="timeout")
        except requests.RequestException as exc:
            # Only the exception's class: requests' own message holds the URL, and with it the proof.
            failure = GraphError(UNSURE, type(exc).__name__, label=self.label, reason="connection")
        # Raised here, outside the except blocks, so the error carries no __context__ (whose text names the URL).
        if failure is not None:
            log.debug("%s %s: %s", method, path, failure.message)
            self._failed(failure.reason or "connection")
            raise failure
        assert response is not None
        log.debug("%s %s -> HTTP %s", method, path, response.status_code)
        usage = self._note_usage(response.headers)
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if 200 <= response.status_code < 300:
            if isinstance(body, dict) and not isinstance(body.get("error"), dict):
                return body
            if isinstance(body, bool):  # some older edges answer a bare true
                return {"success": body}
        self._failed(str(response.status_code))
        raise self._error(response, body, usage)

    def _error(self, response: requests.Response, body: Any, usage: Mapping[str, Any]) -> GraphError:
        status = response.status_code
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            if status == 429:
                return self._rate_limited(response, usage, None, None, f"HTTP {status}")
            if status == 401:
                return GraphError(TOKEN, f"HTTP {status}", label=self.label, status=status)
            kind = UNSURE if status >= 500 or 200 <= status < 300 else REFUSED
            reason = "server" if status >= 500 else "answer"
            return GraphError(
                kind, f"HTTP {status} without a Graph error", label=self.label, status=status, reason=reason
            )
        code = _int(error.get("code"))
        subcode = _int(error.get("error_subcode"))
        message = self._scrub(str(error.get("message") or "")) or f"HTTP {status}"
        trace_id = error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None
        common: dict[str, Any] = {
            "label": self.label,
            "status": status,
            "code": code,
            "subcode": subcode,
            "trace_id": trace_id,
        }
        if code in _TOKEN_CODES:
            return GraphError(TOKEN, message, **common)
        if code in _RATE_LIMIT_CODES or status == 429:
            return self._rate_limited(response, usage, code, subcode, message, trace_id)
        named = _permission_named(message)
        if (code, subcode) not in _NOT_A_PERMISSION and (
            code in _PERMISSION_CODES or (code == 100 and named and "permission" in message.lower())
        ):
            return GraphError(PERMISSION, message, permission=named, **common)
        if status >= 500 or code in _TRANSIENT_CODES:
            return GraphError(UNSURE, message, reason="server", **common)
        return GraphError(REFUSED, message, **common)

    def _rate_limited(
        self,
        response: requests.Response,
        usage: Mapping[str, Any],
        code: int | None,
        subcode: int | None,
        message: str,
        trace_id: str | None = None,
    ) -> GraphError:
        return GraphError(
            RATE_LIMIT,
            message,
            label=self.label,
            status=response.status_code,
            code=code,
            subcode=subcode,
            retry_after=_retry_after(response.headers, usage),
            trace_id=trace_id,
        )

    def _note_usage(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The usage headers of this answer, parsed; also kept in `usage` (the latest of each)."""
        usage: dict[str, Any] = {}
        for key, name in _USAGE_HEADERS.items():
            text = headers.get(name)
            if not text:
                continue
            try:
                usage[key] = json.loads(text)
            except ValueError:
                continue
        self.usage.update(usage)
        return usage

    def _scrub(self, text: str) -> str:
        """Meta sometimes quotes what it was sent ("Malformed access token EAAB..."): never pass that on."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _QUERY_SECRET.sub(r"\1" + REDACTED, text)


def _retry_after(headers: Mapping[str, str], usage: Mapping[str, Any]) -> float:
    """Seconds to wait after a rate limit, from what Meta said.

    The Business Use Case header (which Page tokens are measured by) gives `estimated_time_to_regain_access` in
    minutes: `{"<business-object-id>": [{"type", "call_count", "total_cputime", "total_time",
    "estimated_time_to_regain_access"}]}` (developers.facebook.com/docs/graph-api/overview/rate-limiting).
    `X-App-Usage` / `X-Page-Usage` give percentages only: at 100 % back off `SATURATED_WAIT`.
    """
    entries = _usage_entries(usage)
    minutes = [
        float(entry["estimated_time_to_regain_access"])
        for entry in entries
        if _number(entry.get("estimated_time_to_regain_access")) and entry["estimated_time_to_regain_access"] > 0
    ]
    if minutes:
        return max(minutes) * 60.0
    retry_after = (headers.get("Retry-After") or "").strip()
    if retry_after.isdigit() and int(retry_after) > 0:
        return float(retry_after)
    if any(_number(entry.get(figure)) and entry[figure] >= 100 for entry in entries for figure in _USAGE_FIGURES):
        return SATURATED_WAIT
    return DEFAULT_RATE_LIMIT_WAIT


def _usage_entries(usage: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries: list[Mapping[str, Any]] = []
    for key in ("app", "page"):
        if isinstance(usage.get(key), dict):
            entries.append(usage[key])
    business = usage.get("business")
    if isinstance(business, dict):
        for value in business.values():
            if isinstance(value, list):
                entries.extend(item for item in value if isinstance(item, dict))
    return entries


def _permission_named(message: str) -> str | None:
    match = _PERMISSION_NAME.search(message)
    return match.group(1) if match else None


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
