"""Authorization: may this user do this verb on this resource or path.

Owns the request `Attributes`, the `Authorizer` seam, the `AuthorizerChain` (upstream's
union authorizer) and the simple authorizers used until RBAC and Node arrive.

Authorizer contract: return ALLOW or DENY to decide, NO_OPINION to pass to the next.
The chain takes the first ALLOW or DENY; if every authorizer has no opinion the request
is denied. Denials become 403 Forbidden with upstream's message, e.g.::

    pods is forbidden: User "alice" cannot list resource "pods" in API group ""
    in the namespace "default"            (one line on the wire)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from kybernetes.api.errors import StatusError, forbidden
from kybernetes.apiserver.authn import AUTHENTICATED_GROUP, MASTERS_GROUP, UserInfo, is_public_path


@dataclass(frozen=True, kw_only=True)
class Attributes:
    """What a request wants to do, as upstream's `authorizer.AttributesRecord`.

    For resource requests `verb` is the API verb (get, list, watch, create, update, patch,
    delete, deletecollection, ...); for non-resource requests it is the lower-case HTTP
    method (get, post, ...) and only `path` matters.
    """

    user: UserInfo
    verb: str
    resource_request: bool
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


class Verdict(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"
    NO_OPINION = "NoOpinion"


@dataclass(frozen=True)
class Decision:
    """An authorizer's verdict and the reason it gives (shown to the user on denial)."""

    verdict: Verdict
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


ALLOW = Decision(Verdict.ALLOW)
DENY = Decision(Verdict.DENY)
NO_OPINION = Decision(Verdict.NO_OPINION)


class Authorizer(Protocol):
    async def authorize(self, attrs: Attributes) -> Decision: ...


def forbidden_message(attrs: Attributes) -> str:
    """Upstream's `forbiddenMessage` (apiserver endpoints/handlers/responsewriters)."""
    user = attrs.user.name
    if not attrs.resource_request:
        return f"User {_q(user)} cannot {attrs.verb} path {_q(attrs.path)}"
    resource = attrs.resource
    if attrs.subresource:
        resource = f"{resource}/{attrs.subresource}"
    head = (
        f"User {_q(user)} cannot {attrs.verb} resource {_q(resource)}"
        f" in API group {_q(attrs.api_group)}"
    )
    if attrs.namespace:
        return f"{head} in the namespace {_q(attrs.namespace)}"
    return f"{head} at the cluster scope"


def forbidden_error(attrs: Attributes, reason: str = "") -> StatusError:
    """The 403 upstream answers a denied request with (apierrors.NewForbidden)."""
    detail = forbidden_message(attrs)
    if reason:
        detail = f"{detail}: {reason}"
    if not attrs.resource_request or not attrs.resource:
        return forbidden(f"forbidden: {detail}")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if attrs.name:
        message = f"{qualified} {_q(attrs.name)} is forbidden: {detail}"
    else:
        message = f"{qualified} is forbidden: {detail}"
    err = forbidden(message)
    err.group, err.kind, err.name = attrs.api_group, attrs.resource, attrs.name
    return err


def _q(s: str) -> str:
    """Go's %q for the strings that occur here (names, paths)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AuthorizerChain:
    """Upstream's union authorizer: first ALLOW or DENY wins, all NO_OPINION denies."""

    def __init__(self, authorizers: Iterable[Authorizer]) -> None:
        self.authorizers = list(authorizers)

    async def decide(self, attrs: Attributes) -> Decision:
        """The combined decision (ALLOW or DENY, never NO_OPINION); never raises 403."""
        reasons = []
        for authorizer in self.authorizers:
            decision = await authorizer.authorize(attrs)
            if decision.verdict is not Verdict.NO_OPINION:
                return decision
            if decision.reason:
                reasons.append(decision.reason)
        return Decision(Verdict.DENY, "\n".join(reasons))  # as union.go

    async def authorize(self, attrs: Attributes) -> Decision:
        """ALLOW, or raises 403 Forbidden with upstream's message."""
        decision = await self.decide(attrs)
        if not decision.allowed:
            raise forbidden_error(attrs, decision.reason)
        return decision


class SystemMastersAuthorizer:
    """Members of system:masters may do anything (upstream's privileged-group authorizer)."""

    async def authorize(self, attrs: Attributes) -> Decision:
        return ALLOW if MASTERS_GROUP in attrs.user.groups else NO_OPINION


class AlwaysAllowAuthenticated:
    """Any authenticated user may do anything. A stand-in until RBAC exists."""

    async def authorize(self, attrs: Attributes) -> Decision:
        return ALLOW if AUTHENTICATED_GROUP in attrs.user.groups else NO_OPINION


class PublicInfoAuthorizer:
    """GET of /healthz, /livez, /readyz, /version for everyone, anonymous included.

    Upstream grants this through the system:public-info-viewer ClusterRole, bound to
    system:authenticated and system:unauthenticated.
    """

    async def authorize(self, attrs: Attributes) -> Decision:
        if not attrs.resource_request and attrs.verb == "get" and is_public_path(attrs.path):
            return ALLOW
        return NO_OPINION
