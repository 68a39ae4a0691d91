"""Authentication: who is making this request.

Owns `UserInfo`, the `Authenticator` seam and its implementations (client certs,
bearer tokens) and the `AuthenticatorChain` that the HTTP layer calls once per request.

Authenticator contract (as upstream's `authenticator.Request`):

    returns UserInfo   the credentials this authenticator understands are valid
    returns None       no credentials of its kind were presented; ask the next one
    raises 401         credentials of its kind were presented and are bad

The chain adds the group ``system:authenticated`` to every authenticated user (as
upstream's AuthenticatedGroupAdder does). With no credentials at all only the public
health/version paths are served, as ``system:anonymous``; everything else is a 401.
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kybernetes.api.errors import unauthorized

log = logging.getLogger(__name__)

AUTHENTICATED_GROUP = "system:authenticated"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
ANONYMOUS_USER = "system:anonymous"
MASTERS_GROUP = "system:masters"

# Paths that upstream's system:public-info-viewer ClusterRole opens to everyone.
_PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass(frozen=True)
class UserInfo:
    """An authenticated (or anonymous) user, as upstream's `user.Info`."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    # Left out of the hash so that UserInfo stays hashable whatever mapping is passed.
    extra: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def with_group(self, group: str) -> UserInfo:
        """This user with `group` added (unchanged if already a member)."""
        if group in self.groups:
            return self
        return UserInfo(self.name, self.uid, (*self.groups, group), self.extra)

    def to_user_info(self) -> dict[str, Any]:
        """The `authentication.k8s.io/v1` UserInfo shape (TokenReview, SelfSubjectReview)."""
        out: dict[str, Any] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


ANONYMOUS = UserInfo(ANONYMOUS_USER, groups=(UNAUTHENTICATED_GROUP,))


def is_public_path(path: str) -> bool:
    """True for /healthz, /livez, /readyz, /version and their sub-paths (e.g. /livez/ping)."""
    return any(path == p or path.startswith(p + "/") for p in _PUBLIC_PATHS)


class Authenticator(Protocol):
    """One way of proving identity. See the module docstring for the contract."""

    async def authenticate(self, request: web.Request) -> UserInfo | None: ...


class TokenVerifier(Protocol):
    """A source of bearer tokens (e.g. service-account JWTs, bootstrap tokens).

    Returns the user if the token is one of its own and valid, None if the token is not
    its kind, and raises ``unauthorized()`` if it is its kind but invalid (expired, revoked).
    """

    async def verify(self, token: str) -> UserInfo | None: ...


# --------------------------------------------------------------------------- X509


_VERIFIED_CACHE_SIZE = 4096


class X509Authenticator:
    """Client certificates signed by the cluster CA: user = CN, groups = O values.

    Implements `Authenticator`. The TLS layer (CERT_OPTIONAL) already rejected certs that
    fail verification; this re-checks issuer, signature, validity and usage so the result
    does not depend on how the SSL context was built.
    """

    def __init__(
        self,
        ca_pem: bytes,
        *,
        now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._cas = x509.load_pem_x509_certificates(ca_pem)
        self._now = now
        self._verified: dict[bytes, tuple[UserInfo, datetime.datetime, datetime.datetime]] = {}
        # The client certificate of each TLS connection, read once per connection (a
        # connection's peer never changes: the server context refuses renegotiation).
        self._by_connection: weakref.WeakKeyDictionary[Any, bytes] = (
            weakref.WeakKeyDictionary())

    async def authenticate(self, request: web.Request) -> UserInfo | None:
        der = self._connection_cert(request)
        if not der:
            return None
        return self.user_for(der)

    def _connection_cert(self, request: web.Request) -> bytes | None:
        transport = request.transport
        if transport is None:
            return None
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        der = self._by_connection.get(ssl_object)
        if der is None:
            der = ssl_object.getpeercert(binary_form=True) or b""
            try:
                self._by_connection[ssl_object] = der
            except TypeError:  # not weakly referenceable: read it every time
                pass
        return der

    def user_for(self, der: bytes) -> UserInfo:
        """The user a DER client certificate stands for; raises 401 if we did not issue it.

        Verified certificates are remembered (the signature check is the expensive part
        and the same client presents the same certificate on every request); validity
        dates are checked again on every use."""
        hit = self._verified.get(der)
        if hit is not None:
            user, not_before, not_after = hit
            if not not_before <= self._now() <= not_after:
                raise unauthorized()
            return user
        user, cert = self._verify(der)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[der] = (user, cert.not_valid_before_utc, cert.not_valid_after_utc)
        return user

    def _verify(self, der: bytes) -> tuple[UserInfo, x509.Certificate]:
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            raise unauthorized() from None
        if not self._issued_by_ca(cert) or not self._valid_now(cert) or not _client_usage(cert):
            raise unauthorized()
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not cns or not str(cns[0].value):
            raise unauthorized()
        org_attrs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        orgs = [str(a.value) for a in org_attrs]
        groups = tuple(dict.fromkeys([*orgs, AUTHENTICATED_GROUP]))
        return UserInfo(name=str(cns[0].value), groups=groups), cert

    def _issued_by_ca(self, cert: x509.Certificate) -> bool:
        for ca in self._cas:
            if cert.issuer != ca.subject:
                continue
            try:
                cert.verify_directly_issued_by(ca)
            except (InvalidSignature, ValueError, TypeError):
                continue
            return True
        return False

    def _valid_now(self, cert: x509.Certificate) -> bool:
        now = self._now()
        return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _client_usage(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True  # no EKU means any usage (RFC 5280 4.2.1.12)
    return any(
        oid in eku
        for oid in (ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE)
    )


# --------------------------------------------------------------------------- tokens


def parse_token_csv(text: str, *, source: str = "<token file>") -> dict[str, UserInfo]:
    """Parse upstream's ``--token-auth-file`` format: ``token,user,uid[,"g1,g2"]``.

    As upstream: at least 3 columns or the whole file is rejected (ValueError); records
    with an empty token are skipped; a later duplicate token replaces the earlier one.
    """
    tokens: dict[str, UserInfo] = {}
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    for number, record in enumerate(reader, start=1):
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # blank line
        if len(record) < 3:
            raise ValueError(
                f"token file {source!r} must have at least 3 columns "
                f"(token, user name, user uid), found {len(record)}"
            )
        token, name, uid = record[0], record[1], record[2]
        if not token:
            log.warning("empty token in token file source=%s record=%d", source, number)
            continue
        if token in tokens:
            log.warning("duplicate token in token file source=%s record=%d", source, number)
        groups = tuple(g for g in record[3].split(",") if g) if len(record) > 3 else ()
        tokens[token] = UserInfo(name=name, uid=uid, groups=groups)
    return tokens


def bearer_token(request: web.Request) -> str | None:
    """The token from ``Authorization: Bearer <token>``, or None if there is none."""
    header = request.headers.get("Authorization", "")
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1] or None


class TokenAuthenticator:
    """Bearer tokens: static tokens first, then each verifier in `verifiers` in order.

    Implements `Authenticator`. A bearer token nobody recognises is a 401 (upstream:
    "invalid bearer token"). `verifiers` is the hook for service-account JWTs and
    bootstrap tokens; it may be appended to after construction.
    """

    def __init__(
        self,
        tokens: Mapping[str, UserInfo] | None = None,
        *,
        verifiers: Iterable[TokenVerifier] = (),
    ) -> None:
        self.tokens: dict[str, UserInfo] = dict(tokens or {})
        self.verifiers: list[TokenVerifier] = list(verifiers)

    @classmethod
    def from_csv(cls, path: Path, *, verifiers: Iterable[TokenVerifier] = ()) -> TokenAuthenticator:
        text = Path(path).read_text(encoding="utf-8")
        return cls(parse_token_csv(text, source=str(path)), verifiers=verifiers)

    def add_token(self, token: str, user: UserInfo) -> None:
        self.tokens[token] = user

    async def authenticate(self, request: web.Request) -> UserInfo | None:
        token = bearer_token(request)
        if token is None:
            return None
        return await self.verify(token)

    async def verify(self, token: str) -> UserInfo:
        """The user for `token`; raises 401 when no source recognises it (TokenReview uses this)."""
        user = self.tokens.get(token)
        if user is not None:
            return user
        for verifier in self.verifiers:
            user = await verifier.verify(token)
            if user is not None:
                return user
        raise unauthorized()


# --------------------------------------------------------------------------- chain


class AuthenticatorChain:
    """Ask each authenticator in order; the first user returned wins.

    A 401 from one authenticator ends the request (bad credentials are never silently
    ignored). No user at all: anonymous on public paths, otherwise 401.
    """

    def __init__(self, authenticators: Iterable[Authenticator]) -> None:
        self.authenticators = list(authenticators)

    async def authenticate(self, request: web.Request) -> UserInfo:
        for authenticator in self.authenticators:
            user = await authenticator.authenticate(request)
            if user is not None:
                return user.with_group(AUTHENTICATED_GROUP)
        if is_public_path(request.path):
            return ANONYMOUS
        raise unauthorized()
