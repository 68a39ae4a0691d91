"""Service account tokens: issuing (`serviceaccounts/NAME/token`) and verifying them.

Tokens are RS256 JWTs signed with the cluster's service-account key
(`pki/sa.key`), with upstream's claims: `iss`, `sub`
(`system:serviceaccount:NS:NAME`), `aud`, `exp`/`iat`/`nbf` and the private
`kubernetes.io` claim naming the namespace, the service account (name, uid) and
an optional bound object. A token is valid only while its service account (and
bound object) exists with the same uid, as upstream's bound tokens.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import jwt

from kybernetes.api.errors import Cause, invalid, unauthorized
from kybernetes.apiserver.authn import UserInfo

Obj = dict[str, Any]

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
MAX_EXPIRATION_SECONDS = 2**32

# (namespace, name) -> uid of the live service account, or None.
ServiceAccountLookup = Callable[[str, str], Awaitable[str | None]]


def sa_username(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


class TokenIssuer:
    def __init__(self, private_key_pem: bytes, public_key_pem: bytes, *,
                 issuer: str = ISSUER, now: Callable[[], float] = time.time) -> None:
        self.private_key = private_key_pem
        self.public_key = public_key_pem
        self.issuer = issuer
        self.now = now

    def issue(self, request: Obj, *, namespace: str, sa: Obj) -> Obj:
        """Fill `status` of a TokenRequest for service account `sa`; returns the request."""
        spec = request.setdefault("spec", {})
        seconds = spec.get("expirationSeconds")
        if seconds is None:
            seconds = DEFAULT_EXPIRATION_SECONDS
        if not isinstance(seconds, int) or seconds < MIN_EXPIRATION_SECONDS or \
                seconds > MAX_EXPIRATION_SECONDS:
            raise invalid("TokenRequest", sa["metadata"]["name"], [Cause(
                "FieldValueInvalid", f"Invalid value: {seconds}: may not specify a duration "
                "less than 10 minutes", "spec.expirationSeconds")], "authentication.k8s.io")
        spec["expirationSeconds"] = seconds
        audiences = spec.get("audiences") or [self.issuer]
        spec["audiences"] = audiences
        now = int(self.now())
        meta = sa["metadata"]
        private: Obj = {"namespace": namespace,
                        "serviceaccount": {"name": meta["name"], "uid": meta.get("uid", "")}}
        bound = spec.get("boundObjectRef")
        if bound:
            private[str(bound.get("kind", "")).lower() or "object"] = {
                "name": bound.get("name", ""), "uid": bound.get("uid", "")}
        claims = {"iss": self.issuer, "sub": sa_username(namespace, meta["name"]),
                  "aud": audiences, "iat": now, "nbf": now, "exp": now + seconds,
                  "jti": str(uuid.uuid4()), "kubernetes.io": private}
        token = jwt.encode(claims, self.private_key, algorithm="RS256")
        request["status"] = {
            "token": token,
            "expirationTimestamp": datetime.fromtimestamp(now + seconds, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
        }
        request.setdefault("metadata", {}).update(
            name=meta["name"], namespace=namespace,
            creationTimestamp=datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return request


class ServiceAccountTokenVerifier:
    """Implements `authn.TokenVerifier` for tokens this cluster issued."""

    def __init__(self, public_key_pem: bytes, lookup: ServiceAccountLookup, *,
                 issuer: str = ISSUER, audiences: tuple[str, ...] = (ISSUER,)) -> None:
        self.public_key = public_key_pem
        self.lookup = lookup
        self.issuer = issuer
        self.audiences = audiences

    async def verify(self, token: str) -> UserInfo | None:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None  # not a JWT: some other verifier's kind
        if unverified.get("iss") != self.issuer:
            return None
        try:
            claims = jwt.decode(token, self.public_key, algorithms=["RS256"],
                                audience=list(self.audiences), issuer=self.issuer)
        except jwt.PyJWTError:
            raise unauthorized() from None
        private = claims.get("kubernetes.io") or {}
        ns = private.get("namespace") or ""
        sa = private.get("serviceaccount") or {}
        name, uid = sa.get("name") or "", sa.get("uid") or ""
        if not ns or not name:
            raise unauthorized()
        live_uid = await self.lookup(ns, name)
        if live_uid is None or (uid and live_uid != uid):
            raise unauthorized()
        return UserInfo(sa_username(ns, name), uid=uid,
                        groups=("system:serviceaccounts", f"system:serviceaccounts:{ns}"))
