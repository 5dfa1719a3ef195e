"""OAuth2 like Google's: service-account keys, the JWT-bearer token exchange, bearer tokens.

Each service account gets a real RSA key pair; the token endpoint verifies the key id
(``kid``, when the assertion names one, must be the issued ``private_key_id``), the RS256
signature of the assertion (google-auth's own verifier), its audience and its timeframe,
then issues an access token that expires after an hour.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt

from syncer.sandbox.errors import unauthenticated

#: Audiences Google's token endpoint accepts (google-auth always signs for the first one).
GOOGLE_AUDIENCES = (
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
PROJECT_ID = "syncer-sandbox"
_TIMEFRAME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)


@dataclass(frozen=True)
class Account:
    """A service account the sandbox knows, with its key pair."""

    email: str
    key_id: str
    client_id: str
    private_pem: str
    public_pem: bytes


@dataclass(frozen=True)
class TokenGrant:
    """An issued access token."""

    email: str
    expires_at: float


class TokenError(Exception):
    """The token endpoint rejects a request: ``{"error", "error_description"}`` with 400/401."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """The JSON body Google's token endpoint sends."""
        return {"error": self.error, "error_description": self.description}


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class AuthRegistry:
    """Service accounts and access tokens; not thread-safe (the server locks around it)."""

    def __init__(self, key_size: int = 2048) -> None:
        self.key_size = key_size
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, TokenGrant] = {}

    def account(self, email: str) -> Account:
        """The account for an email, created with a fresh RSA key pair on first use."""
        found = self.accounts.get(email)
        if found is not None:
            return found
        key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        account = Account(
            email=email,
            key_id=secrets.token_hex(20),
            client_id=str(100000000000000000000 + secrets.randbelow(10**20)),
            private_pem=private_pem,
            public_pem=public_pem,
        )
        self.accounts[email] = account
        return account

    def service_account_info(self, email: str, base_url: str) -> dict[str, Any]:
        """A service-account JSON dict in Google's key-file format, pointing at the sandbox."""
        account = self.account(email)
        return {
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": account.key_id,
            "private_key": account.private_pem,
            "client_email": email,
            "client_id": account.client_id,
            "auth_uri": f"{base_url}/o/oauth2/auth",
            "token_uri": f"{base_url}/token",
            "auth_provider_x509_cert_url": f"{base_url}/oauth2/v1/certs",
            "client_x509_cert_url": f"{base_url}/robot/v1/metadata/x509/{email}",
            "universe_domain": "googleapis.com",
        }

    def exchange(self, form_body: bytes, token_uri: str, now: float) -> dict[str, Any]:
        """Verify a JWT-bearer grant and issue an access token (raises TokenError)."""
        form = {k: v[0] for k, v in parse_qs(form_body.decode("utf-8", "replace")).items()}
        grant_type = form.get("grant_type")
        if grant_type != JWT_BEARER:
            raise TokenError("unsupported_grant_type", f"Invalid grant_type: {grant_type or ''}")
        assertion = form.get("assertion", "")
        claims = self._verify(assertion)
        if claims.get("aud") not in (token_uri, *GOOGLE_AUDIENCES):
            raise TokenError("invalid_grant", "Invalid JWT: Failed audience check.")
        try:
            iat = float(claims["iat"])
            exp = float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            raise TokenError("invalid_grant", _TIMEFRAME) from None
        if exp <= now or iat > now + CLOCK_SKEW or exp - iat > MAX_ASSERTION_LIFETIME:
            raise TokenError("invalid_grant", _TIMEFRAME)
        if not claims.get("scope"):
            raise TokenError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token = "ya29.sandbox-" + secrets.token_urlsafe(32)
        self.tokens[token] = TokenGrant(str(claims["iss"]), now + TOKEN_LIFETIME)
        return {"access_token": token, "expires_in": TOKEN_LIFETIME - 1, "token_type": "Bearer"}

    def _verify(self, assertion: str) -> dict[str, Any]:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise TokenError("invalid_request", "Invalid JWT: malformed assertion.")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise TokenError("invalid_request", "Invalid JWT: malformed assertion.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenError("invalid_request", "Invalid JWT: malformed assertion.")
        account = self.accounts.get(str(claims.get("iss", "")))
        if account is None:
            raise TokenError("invalid_grant", "Invalid grant: account not found")
        if header.get("alg") != "RS256":
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        kid = header.get("kid")
        if kid is not None and kid != account.key_id:
            # A key that is not the account's (deleted, rotated, another account's) is
            # refused like Google does, even when the signature would verify.
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        verifier = crypt.RSAVerifier.from_string(account.public_pem)  # type: ignore[no-untyped-call]
        signed = f"{parts[0]}.{parts[1]}".encode()
        if not verifier.verify(signed, signature):
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        return claims

    def expire_all(self, now: float) -> int:
        """Make every issued access token expired at ``now``; returns how many were live."""
        live = 0
        for token, grant in list(self.tokens.items()):
            if grant.expires_at > now:
                live += 1
            self.tokens[token] = TokenGrant(grant.email, min(grant.expires_at, now))
        return live

    def user_for(self, authorization: str | None, now: float) -> str:
        """The email behind an ``Authorization: Bearer`` header, or a 401 ApiError."""
        if not authorization or not authorization.startswith("Bearer "):
            raise unauthenticated(missing=True)
        grant = self.tokens.get(authorization[len("Bearer ") :].strip())
        if grant is None or grant.expires_at <= now:
            raise unauthenticated()
        return grant.email
