"""Bearer tokens: who is calling, which tenant's sessions they see, and what they may do.

A token is ``agx_`` + 32 random bytes; only its SHA-256 is stored (a secret that long needs no
slow hash). Each token has one tenant and one scope; a scope implies others:

    read    see sessions, events, previews, convoys, monitoring
    submit  read + submit tasks and convoys, pause, resume, cancel, add budget
    review  read + the review queue: approve, reject with feedback, export
    admin   everything, plus Prometheus ``/metrics`` (service-wide)

Another tenant's session is answered with 404, exactly like a session that does not exist.
With no token created, auth is off and the server only listens on loopback (``serve`` refuses
any other address); on a non-loopback address auth is always on.

Where the token comes from: the ``Authorization: Bearer`` header; for a GET, ``?access_token=``
(EventSource and ``<iframe>`` cannot send headers); else the dashboard's ``agx_token`` cookie
(HttpOnly, SameSite=Strict, set by ``/ui/login``). Browsers are held to their own origin: a
state-changing request whose ``Origin`` is another site is refused whatever its credentials
(cross-site form posts and fetches cannot drive the API), and while auth is off only loopback
host names are answered (a DNS-rebound name cannot reach the open API).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentic_executor.api.deps import quick_read
from agentic_executor.api.errors import ApiError, documented
from agentic_executor.api.schemas import WhoAmI
from agentic_executor.app import App
from agentic_executor.budget.ledger import new_id
from agentic_executor.errors import BadInput
from agentic_executor.store import queries

SCOPES: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "submit": frozenset({"read", "submit"}),
    "review": frozenset({"read", "review"}),
    "admin": frozenset({"read", "submit", "review", "admin"}),
}
TOKEN_PREFIX = "agx_"
COOKIE = "agx_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHE_S = 5.0
"""How long a token lookup (and "are there any tokens?") is cached: a revocation takes effect
within this many seconds, and a busy server reads the token table at most once per token per period."""


@dataclass(frozen=True)
class Principal:
    name: str
    tenant: str | None  # None: every tenant (auth is off)
    scopes: frozenset[str]

    @property
    def submit_tenant(self) -> str:
        return self.tenant or queries.DEFAULT_TENANT


ANONYMOUS = Principal("anonymous (auth is off)", None, SCOPES["admin"])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(app: App, name: str, scope: str, tenant: str = queries.DEFAULT_TENANT) -> str:
    """A new token's secret (shown once; only its hash is kept)."""
    if scope not in SCOPES:
        raise BadInput(f"unknown scope {scope!r}: use one of {', '.join(SCOPES)}", details={"field": "scope"})
    if not name.strip() or not tenant.strip():
        raise BadInput("a token needs a non-empty name and tenant", details={"field": "name"})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with app.db.transaction() as conn:
        queries.insert_token(
            conn, id=new_id("tok"), name=name.strip(), tenant=tenant.strip(), scope=scope, token_hash=hash_token(secret)
        )
    return secret


class Authenticator:
    """Checks bearer tokens against the token table, with a short cache (see ``CACHE_S``)."""

    def __init__(self, app: App, *, always_required: bool) -> None:
        self.app = app
        self.always_required = always_required
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, queries.TokenRow | None]] = {}
        self._any: tuple[float, bool] = (0.0, False)

    def required(self) -> bool:
        if self.always_required:
            return True
        now = time.monotonic()
        with self._lock:
            checked, any_tokens = self._any
        if now - checked > CACHE_S:
            with self.app.db.read() as conn:
                any_tokens = queries.active_token_count(conn) > 0
            with self._lock:
                self._any = (now, any_tokens)
        return any_tokens

    def principal(self, token: str | None) -> Principal:
        if not self.required():
            return ANONYMOUS
        if not token:
            raise ApiError(
                401,
                "unauthorized",
                "this server needs a bearer token: send 'Authorization: Bearer agx_…' (agx token create)",
            )
        row = self._lookup(hash_token(token))
        if row is None:
            raise ApiError(
                401, "unauthorized", "the bearer token is unknown or revoked: create one with agx token create"
            )
        return Principal(row.name, row.tenant, SCOPES.get(row.scope, frozenset()))

    def _lookup(self, digest: str) -> queries.TokenRow | None:
        now = time.monotonic()
        with self._lock:
            cached = self._tokens.get(digest)
        if cached is not None and now - cached[0] <= CACHE_S:
            return cached[1]
        with self.app.db.read() as conn:
            row = queries.token_by_hash(conn, digest)
        with self._lock:
            if len(self._tokens) > 10_000:  # unknown tokens must not grow the cache without bound
                self._tokens.clear()
            self._tokens[digest] = (now, row)
        return row


_bearer = HTTPBearer(auto_error=False, description="An API token: agx token create --name NAME --scope SCOPE")


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must hold ``scope``."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        token = credentials.credentials if credentials is not None else None
        if token is None and request.method == "GET":  # EventSource and <iframe> cannot send headers
            token = request.query_params.get("access_token")
        if token is None:
            token = request.cookies.get(COOKIE) or None
        check_browser_origin(request)
        auth: Authenticator = request.app.state.auth
        principal = await quick_read(auth.app, lambda: auth.principal(token))
        if principal is ANONYMOUS:
            check_loopback_host(request)
        if scope not in principal.scopes:
            raise ApiError(
                403,
                "forbidden",
                f"this token's scope does not allow {scope}: use a token created with --scope {scope} (or admin)",
                details={"needed": scope},
            )
        return principal

    return dependency


def check_browser_origin(request: Request) -> None:
    """Refuse a state-changing request that a browser sent from another site (CSRF)."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    own = str(request.base_url).rstrip("/")
    if (origin is not None and origin != own) or fetch_site in ("cross-site", "same-site"):
        raise ApiError(
            403,
            "forbidden",
            f"a browser request from {origin or 'another site'} cannot change anything here: "
            "use the dashboard on this server, or call the API without an Origin header",
            details={"origin": origin},
        )


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``[::1]`` with or without its brackets)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_loopback_host(request: Request) -> None:
    """With auth off, answer only loopback host names: a DNS-rebound name must not reach the API."""
    host = request.url.hostname or ""
    if is_loopback(host):
        return
    raise ApiError(
        403,
        "forbidden",
        f"auth is off, so this server only answers on loopback names, not {host!r}: "
        "open it as http://127.0.0.1:PORT, or create a token (agx token create) to serve other names",
        details={"host": host},
    )


Reader = Annotated[Principal, Depends(require("read"))]
Submitter = Annotated[Principal, Depends(require("submit"))]
Reviewer = Annotated[Principal, Depends(require("review"))]
Admin = Annotated[Principal, Depends(require("admin"))]

router = APIRouter(tags=["auth"], responses=documented(401, 403, 413, 422, 503))


@router.get("/api/agentic/auth/whoami", response_model=WhoAmI)
def whoami(request: Request, principal: Reader) -> WhoAmI:
    """The caller's token name, tenant and scopes, and whether this server requires a token."""
    return WhoAmI(
        name=principal.name,
        tenant=principal.tenant,
        scopes=sorted(principal.scopes),
        authRequired=request.app.state.auth.required(),
    )
