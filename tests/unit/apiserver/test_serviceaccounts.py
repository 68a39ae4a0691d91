"""Service account token issuing and verification."""

from __future__ import annotations

import asyncio

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kybernetes.api.errors import StatusError
from kybernetes.apiserver.serviceaccounts import ServiceAccountTokenVerifier, TokenIssuer

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIV = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                         serialization.NoEncryption())
PUB = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)
SA = {"metadata": {"name": "bot", "namespace": "ns", "uid": "u-1"}}


def verifier(live: dict[tuple[str, str], str]) -> ServiceAccountTokenVerifier:
    async def lookup(ns: str, name: str) -> str | None:
        return live.get((ns, name))

    return ServiceAccountTokenVerifier(PUB, lookup)


def test_issue_and_verify() -> None:
    out = TokenIssuer(PRIV, PUB).issue({"spec": {}}, namespace="ns", sa=SA)
    token = out["status"]["token"]
    claims = jwt.decode(token, PUB, algorithms=["RS256"], options={"verify_aud": False})
    assert claims["sub"] == "system:serviceaccount:ns:bot"
    assert claims["exp"] - claims["iat"] == 3600
    user = asyncio.run(verifier({("ns", "bot"): "u-1"}).verify(token))
    assert user is not None and user.name == "system:serviceaccount:ns:bot"
    assert "system:serviceaccounts:ns" in user.groups


@pytest.mark.parametrize("live", [{}, {("ns", "bot"): "other-uid"}],
                         ids=["deleted", "recreated"])
def test_token_dies_with_its_service_account(live: dict) -> None:
    token = TokenIssuer(PRIV, PUB).issue({}, namespace="ns", sa=SA)["status"]["token"]
    with pytest.raises(StatusError) as err:
        asyncio.run(verifier(live).verify(token))
    assert err.value.code == 401


def test_expired_token_is_rejected() -> None:
    old = TokenIssuer(PRIV, PUB, now=lambda: 1_000_000.0)
    token = old.issue({}, namespace="ns", sa=SA)["status"]["token"]
    with pytest.raises(StatusError):
        asyncio.run(verifier({("ns", "bot"): "u-1"}).verify(token))


def test_foreign_tokens_are_not_ours() -> None:
    assert asyncio.run(verifier({}).verify("not-a-jwt")) is None


def test_short_expiration_is_invalid() -> None:
    with pytest.raises(StatusError) as err:
        TokenIssuer(PRIV, PUB).issue({"spec": {"expirationSeconds": 60}}, namespace="ns", sa=SA)
    assert err.value.code == 422
