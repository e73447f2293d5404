"""Bearer-token authentication against the agencies' identity providers.

Tokens are asymmetric JWTs (RS256, ES256 or EdDSA) from a trusted issuer — one issuer per
agency — verified against that issuer's JWKS (file or URL, keys chosen by ``kid``, refreshed on
an unknown ``kid`` so the provider can rotate). Each service checks its own audience
(``rehapro-<service>``), expiry and not-before with a bounded clock skew. The agency of a
principal comes from the issuer, never from a claim the issuer cannot vouch for: a token of one
agency's provider that claims another agency is refused. Claims map to roles per issuer
(docs/SECURITY.md: Keycloak, ADFS, Entra ID).

Development: ``issue_token`` signs ES256 with a local key made on first use under ``.local/jwt``
(its public JWKS beside it), and the default trust lists a development issuer per agency on
that JWKS, so ``make up`` and the tests need no identity provider.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, HTTPException, Request, status
from jwt.algorithms import ECAlgorithm

from shared import files, staff
from shared.principal import Principal as Principal
from shared.settings import ServiceSettings
from shared.vocabulary import AGENCIES, Role

ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})
SERVICES = ("intake", "casework", "placement", "reporting")
DEV_ISSUER_BASE = "https://idp.dev.rehapro.local"
SERVICE_ISSUER = f"{DEV_ISSUER_BASE}/services"
ANY_AGENCY = "*"  # a service issuer vouches for the agency it names in the token


def dev_issuer(agency: str) -> str:
    return f"{DEV_ISSUER_BASE}/{agency}"


def audience(service: str) -> str:
    return f"rehapro-{service}"


# --- development signing key -----------------------------------------------------------------


@dataclass
class SigningKeys:
    """A private JWK set on disk (0600); the last key signs, all are published in the public
    JWKS beside it (``jwks.json``), so tokens signed before a rotation stay valid until expiry."""

    path: Path

    @property
    def jwks_path(self) -> Path:
        return self.path.with_name("jwks.json")

    def _load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                files.create_private(self.path, orjson.dumps({"keys": [_new_jwk()]}))
        keys: list[dict[str, Any]] = orjson.loads(self.path.read_bytes())["keys"]
        if not self.jwks_path.exists():
            self._publish(keys)
        return keys

    def _publish(self, keys: list[dict[str, Any]]) -> None:
        public = [{k: v for k, v in key.items() if k != "d"} for key in keys]
        files.replace(self.jwks_path, orjson.dumps({"keys": public}), mode=0o644)

    def sign(self, claims: Mapping[str, Any]) -> str:
        key = self._load()[-1]
        private = ECAlgorithm.from_jwk(orjson.dumps(key).decode())
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.path}: the signing key has no private part")
        return jwt.encode(dict(claims), private, algorithm="ES256", headers={"kid": key["kid"]})

    def rotate(self, keep: int = 2) -> str:
        """A new signing key; the newest ``keep`` stay published. Returns the new ``kid``."""
        keys = [*self._load(), _new_jwk()][-keep:]
        files.replace(self.path, orjson.dumps({"keys": keys}), mode=0o600)
        self._publish(keys)
        return str(keys[-1]["kid"])


def _new_jwk() -> dict[str, Any]:
    jwk: dict[str, Any] = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
    return {**jwk, "kid": os.urandom(8).hex(), "alg": "ES256", "use": "sig"}


def signing_keys(settings: ServiceSettings | None = None) -> SigningKeys:
    path = settings.jwt_signing_key_file if settings else os.environ.get("REHAPRO_JWT_SIGNING_KEY_FILE", "")
    return SigningKeys(Path(path or ".local/jwt/signing-key.json"))


def issue_token(
    secret: str = "",
    *,
    subject: str,
    role: Role | str,
    agency: str,
    issuer: str | None = None,
    ttl: int = 3600 * 12,
    audiences: Sequence[str] | None = None,
    keys: SigningKeys | None = None,
    not_before: int | None = None,
) -> str:
    """Signs a development/test token (ES256, the local signing key) for the agency's development
    issuer and every service's audience. ``secret`` is ignored: it is kept so the call sites of
    the HS256 era keep working. Production tokens come from the agency's identity provider."""
    del secret
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "role": str(role),
        "agency": agency,
        "iss": issuer or dev_issuer(agency),
        "aud": list(audiences if audiences is not None else [audience(s) for s in SERVICES]),
        "iat": now,
        "nbf": not_before if not_before is not None else now,
        "exp": now + ttl,
    }
    return (keys or signing_keys()).sign(claims)


def service_token(settings: ServiceSettings, *, subject: str, agency: str, ttl: int = 300) -> str:
    """A service's own token (e.g. reporting asking intake), signed with its signing key."""
    return issue_token(
        subject=subject, role=Role.SERVICE, agency=agency, issuer=SERVICE_ISSUER, ttl=ttl, keys=signing_keys(settings)
    )


# --- trusted issuers -----------------------------------------------------------------------


class KeySource:
    """Where an issuer's public keys come from."""

    def key(self, kid: str | None) -> jwt.PyJWK:
        raise NotImplementedError


@dataclass
class JwksFile(KeySource):
    """A JWKS file, read again when it changes (a rotation publishes the new key there)."""

    path: Path
    _mtime: float = field(default=-1.0, init=False)
    _set: jwt.PyJWKSet | None = field(default=None, init=False)
    _by_kid: dict[str | None, jwt.PyJWK] = field(default_factory=dict, init=False)

    def key(self, kid: str | None) -> jwt.PyJWK:
        """The key objects are kept by kid until the file changes (one ``stat`` per call)."""
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            mtime = -1.0
        if self._set is None or mtime != self._mtime:
            self._set = jwt.PyJWKSet.from_json(self.path.read_text())
            self._mtime = mtime
            self._by_kid = {k.key_id: k for k in reversed(self._set.keys)}
            if self._set.keys:
                self._by_kid[None] = self._set.keys[0]
        found = self._by_kid.get(kid)
        if found is None:
            raise jwt.InvalidTokenError(f"unknown kid {kid!r}")
        return found


@dataclass
class JwksUri(KeySource):
    """The identity provider's JWKS endpoint; PyJWKClient caches it and fetches it again on an
    unknown ``kid`` (blocking, but only on a cache miss), at most once per ``cooldown`` seconds
    so a flood of made-up kids cannot hammer the provider."""

    uri: str
    cooldown: float = 30.0
    client: jwt.PyJWKClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = jwt.PyJWKClient(
            self.uri, cache_jwk_set=True, lifespan=300, timeout=5, cooldown_duration=self.cooldown
        )

    def key(self, kid: str | None) -> jwt.PyJWK:
        try:
            if kid is None:
                return self.client.get_signing_keys()[0]
            return self.client.get_signing_key(kid)
        except jwt.PyJWKClientError as exc:
            raise jwt.InvalidTokenError(str(exc)) from None


@dataclass
class Issuer:
    """One trusted identity provider: its agency and how its claims map to a role."""

    issuer: str
    agency: str
    keys: KeySource
    role_claim: str = "role"  # dotted path, e.g. realm_access.roles (Keycloak), roles (Entra ID)
    role_map: Mapping[str, str] = field(default_factory=dict)  # provider group/role -> Role
    subject_claim: str = "sub"
    agency_claim: bool = False  # the token must name the agency itself (development tokens do)


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that passed every check: whom it names, until when, and the key that signed it."""

    principal: Principal
    until: float
    issuer: Issuer
    kid: str | None
    key: jwt.PyJWK


# A signature check (ES256/RS256) costs ~0.3-1.5 ms of CPU, most of a small command's request
# handling, and a client sends the same token for hours. A verified token is remembered by its
# SHA-256 until its expiry, at most _VERIFIED_TTL_S; each use still asks the issuer's key source
# for its key (cheap: the key objects are kept by kid), so a withdrawn key ends its tokens at once.
_VERIFIED_TTL_S = 300.0
_VERIFIED_MAX = 10_000


@dataclass
class Trust:
    issuers: dict[str, Issuer]
    audience: str
    leeway: float
    verified: dict[bytes, _Verified] = field(default_factory=dict, repr=False)

    def recall(self, digest: bytes, now: float) -> Principal | None:
        hit = self.verified.get(digest)
        if hit is None:
            return None
        if hit.until <= now or _current_key(hit) is not hit.key:
            del self.verified[digest]
            return None
        return hit.principal

    def remember(self, digest: bytes, verified: _Verified) -> None:
        if len(self.verified) >= _VERIFIED_MAX:
            del self.verified[next(iter(self.verified))]  # the oldest entry
        self.verified[digest] = verified


def _current_key(hit: _Verified) -> jwt.PyJWK | None:
    try:
        return hit.issuer.keys.key(hit.kid)
    except jwt.InvalidTokenError:
        return None


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _role(issuer: Issuer, claims: Mapping[str, Any]) -> Role:
    raw = _claim(claims, issuer.role_claim)
    names = raw if isinstance(raw, list) else [raw]
    roles = set()
    for name in names:
        mapped = issuer.role_map.get(str(name), str(name))
        with contextlib.suppress(ValueError):
            roles.add(Role(mapped))
    if len(roles) != 1:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"invalid token: claim {issuer.role_claim} must name exactly one role"
        )
    return roles.pop()


def _agency(issuer: Issuer, claims: Mapping[str, Any]) -> str:
    claimed = claims.get("agency")
    if claimed is not None and (not isinstance(claimed, str) or not claimed.strip()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token: empty agency")
    if claimed is None and (issuer.agency_claim or issuer.agency == ANY_AGENCY):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token: no agency")
    if issuer.agency == ANY_AGENCY:
        agency = str(claimed or "")
    elif claimed not in (None, issuer.agency):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token: agency is not the issuer's agency")
    else:
        agency = issuer.agency
    if agency not in AGENCIES:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token: unknown agency")
    return agency


def _source(entry: Mapping[str, Any], base: Path) -> KeySource:
    if "jwks_uri" in entry:
        return JwksUri(str(entry["jwks_uri"]), float(entry.get("refresh_cooldown_s", 30.0)))
    return JwksFile(base / str(entry["jwks_file"]))


def load_trust(settings: ServiceSettings) -> Trust:
    """The trusted issuers: the trust file (``jwt_trust_file``) or, without one, a development
    issuer per agency plus the services' issuer, all on the local signing key's JWKS."""
    aud = settings.jwt_audience or audience(settings.service)
    leeway = settings.jwt_leeway_s
    if settings.jwt_trust_file:
        path = Path(settings.jwt_trust_file)
        doc = orjson.loads(path.read_bytes())
        issuers = {
            str(e["issuer"]): Issuer(
                issuer=str(e["issuer"]),
                agency=str(e["agency"]),
                keys=_source(e, path.parent),
                role_claim=str(e.get("role_claim", "role")),
                role_map=dict(e.get("role_map", {})),
                subject_claim=str(e.get("subject_claim", "sub")),
                agency_claim=bool(e.get("agency_claim", False)),
            )
            for e in doc["issuers"]
        }
        return Trust(issuers, aud, leeway)
    keys = signing_keys(settings)
    keys._load()  # made on first use, with its public JWKS
    dev = JwksFile(keys.jwks_path)
    issuers = {dev_issuer(a): Issuer(dev_issuer(a), a, dev, agency_claim=True) for a in AGENCIES}
    issuers[SERVICE_ISSUER] = Issuer(SERVICE_ISSUER, ANY_AGENCY, dev, agency_claim=True)
    return Trust(issuers, aud, leeway)


_trusts: dict[tuple[str, str, str, str, float], Trust] = {}


def trust_for(settings: ServiceSettings) -> Trust:
    s = settings
    cache_key = (s.service, s.jwt_trust_file, s.jwt_signing_key_file, s.jwt_audience, s.jwt_leeway_s)
    if cache_key not in _trusts:
        _trusts[cache_key] = load_trust(settings)
    return _trusts[cache_key]


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {reason}")


def decode_token(token: str, settings: ServiceSettings) -> Principal:
    """The principal of a token from a trusted issuer, or 401 naming why not."""
    trust = trust_for(settings)
    digest = hashlib.sha256(token.encode()).digest()
    now = time.time()
    principal = trust.recall(digest, now)
    if principal is None:
        verified = _verify(token, trust, now)
        trust.remember(digest, verified)
        principal = verified.principal
    return principal


def _verify(token: str, trust: Trust, now: float) -> _Verified:
    """Every check of a token (issuer, algorithm, key, signature, audience, times, claims)."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _unauthorized(str(exc)) from None
    issuer = trust.issuers.get(str(unverified.get("iss", "")))
    if issuer is None:
        raise _unauthorized("untrusted issuer")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise _unauthorized(f"algorithm {alg!r} not accepted")
    try:
        key = issuer.keys.key(header.get("kid"))
        if key.algorithm_name != alg:
            raise jwt.InvalidAlgorithmError("the key's algorithm is not the token's")
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=trust.audience,
            issuer=issuer.issuer,
            leeway=trust.leeway,
            options={"require": ["exp", "iss", "aud", issuer.subject_claim]},
        )
    except jwt.PyJWTError as exc:
        raise _unauthorized(str(exc)) from None
    subject = claims.get(issuer.subject_claim)
    if not isinstance(subject, str) or not subject.strip():
        raise _unauthorized("empty subject")
    principal = Principal(subject=subject, role=_role(issuer, claims), agency=_agency(issuer, claims))
    until = min(float(claims["exp"]), now + _VERIFIED_TTL_S)
    return _Verified(principal, until, issuer, header.get("kid"), key)


def principal_of(header: str, settings: Any) -> Principal:
    """The caller named by an ``Authorization`` header, or 401."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return decode_token(token, settings)


async def authenticate(request: Request) -> Principal:
    """Async on purpose: FastAPI runs a sync dependency in a worker thread, a hop per request.
    A request with a body was authenticated by ``shared.web.BodyGuard`` before it was read."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = principal_of(request.headers.get("authorization", ""), request.app.state.settings)
        await known_staff(request.app.state, request.scope.setdefault("state", {}), principal)
    return principal


async def known_staff(app_state: Any, state: MutableMapping[str, Any], principal: Principal) -> None:
    """The subject is current staff of its agency (``shared.staff.require_known``, against the
    service's own projection; 401 if not), then the request's principal: checked once per
    request, whichever of ``BodyGuard`` and ``authenticate`` sees the token first."""
    runtime = getattr(app_state, "runtime", None)
    if runtime is not None:
        await staff.require_known(runtime, principal)
    state["principal"] = principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
