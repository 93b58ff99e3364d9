"""The stub's security, as a Kuzzle 2.56.0 node with its local strategy does it: users and
their ``local`` credentials, profiles and roles, authentication tokens.

A fresh node lets everyone do everything: its ``admin``, ``default`` and ``anonymous`` roles
allow every action (``lib/kuzzle/internalIndexHandler.js``). ``security:createFirstAdmin``
with ``reset`` replaces them with Kuzzle's standard roles and profiles (``security.standard``
in ``lib/config/default.config.ts``), which is when anonymous requests start being refused.
Tokens are JWTs (HS256, ``kauth-`` prefix) signed with a secret of this stub; one is valid
until it expires or ``auth:logout`` revokes it, and anything else is ``Invalid token.``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from kuzzle_errors._stub.request import failure, plain_failure

ANONYMOUS: Final = "-1"
STRATEGIES: Final = ("local",)
TOKEN_PREFIX: Final = "kauth-"
DEFAULT_TTL_MS: Final = 3_600_000  # security.authToken.expiresIn: "1h"

_ALL: Final[dict[str, Any]] = {"controllers": {"*": {"actions": {"*": True}}}}
_FRESH_ROLES: Final[dict[str, dict[str, Any]]] = {"admin": _ALL, "default": _ALL, "anonymous": _ALL}
_FRESH_PROFILES: Final[dict[str, dict[str, Any]]] = {
    "admin": {"policies": [{"roleId": "admin"}], "rateLimit": 0},
    "default": {"policies": [{"roleId": "default"}]},
    "anonymous": {"policies": [{"roleId": "anonymous"}]},
}
# What every user reads about itself, in Kuzzle's standard default and anonymous roles.
_SELF: Final = {"checkToken": True, "getCurrentUser": True, "getMyRights": True}
_STANDARD_ROLES: Final[dict[str, dict[str, Any]]] = {
    "admin": _ALL,
    "default": {
        "controllers": {
            "auth": {"actions": {**_SELF, "logout": True, "updateSelf": True}},
            "server": {"actions": {"publicApi": True}},
        }
    },
    "anonymous": {
        "controllers": {
            "auth": {"actions": {**_SELF, "login": True}},
            "server": {"actions": {"publicApi": True, "openapi": True}},
        }
    },
}
_STANDARD_PROFILES: Final[dict[str, dict[str, Any]]] = {
    "admin": {"rateLimit": 0, "policies": [{"roleId": "admin"}]},
    "default": {"rateLimit": 10, "policies": [{"roleId": "default"}]},
    "anonymous": {"rateLimit": 200, "policies": [{"roleId": "anonymous"}]},
}
_DURATION: Final = re.compile(
    r"^(-?(?:\d+)?\.?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|"
    r"hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$",
    re.I,
)
_UNIT_MS: Final = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def now_ms() -> int:
    return int(time.time() * 1000)


def duration_ms(value: object) -> int:
    """A duration as Kuzzle's ``parseTimespan`` reads it (the ``ms`` package): milliseconds,
    0 when unreadable, -1 for no expiry."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    if not isinstance(value, str) or len(value) > 100:
        return 0
    match = _DURATION.match(value.strip())
    if match is None:
        return 0
    unit = (match.group(2) or "ms").lower()
    if unit.startswith(("y",)):
        factor = 31_557_600_000
    elif unit.startswith("w"):
        factor = 604_800_000
    elif unit.startswith(("ms", "msec", "milli")):
        factor = 1
    else:
        factor = _UNIT_MS[unit[0]]
    return round(float(match.group(1)) * factor)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Token:
    """An authentication token: whose, until when (-1: never), and the WebSocket connections
    it is linked to (they get ``TokenExpired`` when it expires)."""

    jwt: str
    kuid: str
    expires_at: int
    ttl: int
    connections: set[str] = field(default_factory=set)

    def expired(self, at_ms: int) -> bool:
        return self.expires_at != -1 and at_ms > self.expires_at


class Security:
    """Users, credentials, profiles, roles and tokens of one stub."""

    def __init__(self, *, checked: bool = True, ttl_ms: int = DEFAULT_TTL_MS) -> None:
        #: False: the open stub (every login succeeds, tokens are not checked, no rights).
        self.checked = checked
        self.ttl_ms = ttl_ms
        self._secret = secrets.token_bytes(32)
        self.users: dict[str, dict[str, Any]] = {}
        self.credentials: dict[str, tuple[str, str]] = {}  # local username: (kuid, password)
        self.roles: dict[str, dict[str, Any]] = copy.deepcopy(_FRESH_ROLES)
        self.profiles: dict[str, dict[str, Any]] = copy.deepcopy(_FRESH_PROFILES)
        self.tokens: dict[str, Token] = {}
        #: Called with a token that expired while linked to connections (TokenExpired).
        self.on_expiry: Callable[[Token], None] = lambda token: None

    def reset(self) -> None:
        """A fresh node's security: no user, fresh roles and profiles, no token."""
        self.users.clear()
        self.credentials.clear()
        self.roles = copy.deepcopy(_FRESH_ROLES)
        self.profiles = copy.deepcopy(_FRESH_PROFILES)
        self.tokens.clear()

    # Users.

    def admin_exists(self) -> bool:
        return any("admin" in user.get("profileIds", []) for user in self.users.values())

    def user(self, kuid: str) -> dict[str, Any]:
        """The ``{_id, _source}`` of a user (Kuzzle's serialized user)."""
        if kuid == ANONYMOUS or kuid not in self.users:
            return {"_id": ANONYMOUS, "_source": {"profileIds": ["anonymous"], "name": "Anonymous"}}
        return {"_id": kuid, "_source": copy.deepcopy(self.users[kuid])}

    def profile_ids(self, kuid: str) -> list[str]:
        if kuid in self.users:
            return list(self.users[kuid].get("profileIds", []))
        return ["anonymous"]

    def create_user(
        self,
        kuid: str,
        profile_ids: list[Any],
        content: dict[str, Any],
        credentials: dict[str, Any],
    ) -> dict[str, Any]:
        """Create a user and its credentials, with Kuzzle's checks in Kuzzle's order."""
        for strategy in credentials:
            if strategy not in STRATEGIES:
                raise failure("security.credentials.unknown_strategy", strategy)
        if any(not isinstance(p, str) for p in profile_ids):
            raise failure("api.assert.invalid_type", "profileIds", "string[]")
        if not profile_ids:
            raise failure("security.user.no_profile", kuid)
        for profile in profile_ids:
            if profile not in self.profiles:
                raise failure("security.profile.not_found", profile)
        if kuid in self.users or kuid == ANONYMOUS:
            raise failure("security.user.already_exists", kuid)
        local = credentials.get("local")
        if local is not None:
            if not isinstance(local, dict) or not local.get("username"):
                raise plain_failure("Username required.", 400)
            if not local.get("password"):
                raise plain_failure("Password required.", 400)
            if str(local["username"]) in self.credentials:
                raise plain_failure(f'Login "{local["username"]}" is already used.', 412)
        source = {**{k: v for k, v in content.items() if k != "_kuzzle_info"}}
        source["profileIds"] = list(profile_ids)
        source["_kuzzle_info"] = {"createdAt": now_ms(), "updatedAt": None, "updater": None}
        self.users[kuid] = copy.deepcopy(source)
        if local is not None:
            self.credentials[str(local["username"])] = (kuid, str(local["password"]))
        return {"_id": kuid, "_source": copy.deepcopy(source)}

    def strategies(self, kuid: str) -> list[str]:
        return ["local"] if any(k == kuid for k, _ in self.credentials.values()) else []

    def restrict_default_rights(self) -> None:
        """``createFirstAdmin`` with ``reset``: Kuzzle's standard roles and profiles."""
        self.roles.update(copy.deepcopy(_STANDARD_ROLES))
        self.profiles.update(copy.deepcopy(_STANDARD_PROFILES))

    def put_profile(
        self, profile_id: str, content: dict[str, Any], *, create: bool
    ) -> dict[str, Any]:
        """Create (``create``: refused when it exists) or replace a profile."""
        if create and profile_id in self.profiles:
            raise failure("services.storage.document_already_exists")
        policies = content.get("policies")
        if not isinstance(policies, list):
            raise failure("api.assert.invalid_type", f"{profile_id}.policies", "object[]")
        if not policies:
            raise failure("api.assert.empty_argument", f"{profile_id}.policies")
        for i, policy in enumerate(policies):
            role = policy.get("roleId") if isinstance(policy, dict) else None
            if not role:
                raise failure("api.assert.missing_argument", f"{profile_id}.policies[{i}].roleId")
            if role not in self.roles:
                raise failure("security.role.not_found", role)
        rate = content.get("rateLimit", 0)
        if not isinstance(rate, int) or isinstance(rate, bool) or rate < 0:
            raise failure("api.assert.invalid_type", "rateLimit", "integer")
        source = copy.deepcopy(content)
        source["optimizedPolicies"] = copy.deepcopy(policies)
        source["_kuzzle_info"] = {
            "author": None,
            "createdAt": now_ms(),
            "updatedAt": None,
            "updater": None,
        }
        self.profiles[profile_id] = source
        out = {k: v for k, v in source.items() if k not in ("policies", "optimizedPolicies")}
        return {
            "_id": profile_id,
            "_source": {
                "policies": copy.deepcopy(policies),
                "optimizedPolicies": copy.deepcopy(policies),
                **out,
            },
        }

    def put_role(self, role_id: str, content: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """Create (``create``: refused when it exists) or replace a role."""
        if create and role_id in self.roles:
            raise failure("services.storage.document_already_exists")
        controllers = content.get("controllers")
        if controllers is None:
            raise failure("api.assert.missing_argument", f"{role_id}.controllers")
        if not isinstance(controllers, dict):
            raise failure("api.assert.invalid_type", f"{role_id}.controllers", "object")
        self.roles[role_id] = copy.deepcopy(content)
        return {"_id": role_id, "_source": copy.deepcopy(content)}

    # Rights.

    def allowed(
        self, kuid: str, controller: str, action: str, index: object, collection: object
    ) -> bool:
        """Kuzzle's ``user.isActionAllowed``: one policy of one profile allows the action."""
        if not self.checked:
            return True
        for profile_id in self.profile_ids(kuid):
            profile = self.profiles.get(profile_id)
            for policy in (profile or {}).get("policies", []):
                role = self.roles.get(policy.get("roleId", ""))
                if (
                    role
                    and _role_allows(role, controller, action)
                    and _within(policy.get("restrictedTo"), index, collection)
                ):
                    return True
        return False

    def rate_limit(self, kuid: str) -> int:
        """The user's requests per second (0: unlimited): its most permissive profile's."""
        limit = -1
        for profile_id in self.profile_ids(kuid):
            rate = (self.profiles.get(profile_id) or {}).get("rateLimit", 0) or 0
            limit = 0 if limit == 0 or rate == 0 else max(limit, rate)
        return max(limit, 0)

    # Tokens.

    def login(self, username: object, password: object) -> str:
        """The kuid the local strategy authenticates (Kuzzle's 401 when it does not)."""
        if not username or not password:
            raise failure("plugin.strategy.missing_user", "Missing credentials")
        found = self.credentials.get(str(username))
        if found is None or not hmac.compare_digest(found[1], str(password)):
            raise failure("plugin.strategy.missing_user", "wrong username or password")
        return found[0]

    def issue(self, kuid: str, ttl_ms: int | None = None) -> Token:
        """A new token for ``kuid`` (``ttl_ms`` -1: no expiry)."""
        ttl = self.ttl_ms if ttl_ms is None else ttl_ms
        issued = int(time.time())
        claims: dict[str, Any] = {"_id": kuid, "iat": issued}
        if ttl != -1:
            claims["exp"] = issued + ttl // 1000
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(
            hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        )
        jwt = f"{TOKEN_PREFIX}{header}.{payload}.{signature}"
        token = Token(jwt, kuid, -1 if ttl == -1 else now_ms() + ttl, ttl)
        # Two logins of one user within a second sign the same claims, hence the same JWT
        # (as in Kuzzle): one token, which keeps the connections linked to the first.
        previous = self.tokens.get(jwt)
        if previous is not None:
            token.connections = previous.connections
        self.tokens[jwt] = token
        return token

    def verify(self, jwt: str | None) -> Token | None:
        """The token ``jwt`` stands for (None: anonymous); 401 ``security.token.invalid``
        for a malformed, forged, expired or revoked one, as Kuzzle answers them all."""
        if jwt is None:
            return None
        token = self.tokens.get(jwt)
        if token is not None and token.expired(now_ms()):
            self.expire(token)
            token = None
        if token is not None:
            return token
        if not self.checked:
            return Token(jwt, jwt, -1, -1)  # the open stub: any token stands for a user
        raise failure("security.token.invalid")

    def revoke(self, token: Token) -> None:
        self.tokens.pop(token.jwt, None)

    def expire(self, token: Token) -> None:
        """Forget an expired token; its linked connections are told (TokenExpired)."""
        self.tokens.pop(token.jwt, None)
        if token.connections:
            self.on_expiry(token)
            token.connections.clear()

    def expire_due(self) -> float | None:
        """Expire every token past its date; seconds until the next one expires (None:
        no token expires)."""
        at = now_ms()
        nearest: int | None = None
        for token in list(self.tokens.values()):
            if token.expires_at == -1:
                continue
            if token.expired(at):
                self.expire(token)
            elif token.connections:
                nearest = token.expires_at if nearest is None else min(nearest, token.expires_at)
        return None if nearest is None else max(0.0, (nearest - at) / 1000 + 0.001)

    def link(self, token: Token | None, connection: str) -> None:
        """Tie a token to a WebSocket connection (Kuzzle's tokenManager.link); a connection
        carries one token at a time."""
        for other in self.tokens.values():
            if other is not token:
                other.connections.discard(connection)
        if token is not None and token.kuid != ANONYMOUS and token.jwt in self.tokens:
            token.connections.add(connection)

    def unlink(self, connection: str) -> None:
        for token in self.tokens.values():
            token.connections.discard(connection)


def _role_allows(role: dict[str, Any], controller: str, action: str) -> bool:
    controllers = role.get("controllers")
    if not isinstance(controllers, dict):
        return False
    if controller in ("ms", "memoryStorage") and (
        "ms" in controllers or "memoryStorage" in controllers
    ):
        rights = controllers.get("ms") or controllers.get("memoryStorage")
    elif controller in controllers:
        rights = controllers[controller]
    elif "*" in controllers:
        rights = controllers["*"]
    else:
        return False
    actions = rights.get("actions") if isinstance(rights, dict) else None
    if not isinstance(actions, dict):
        return False
    allowed = actions.get(action, actions.get("*"))
    return allowed is True


def _within(restricted: object, index: object, collection: object) -> bool:
    """Kuzzle's ``role.checkRestrictions`` over a policy's ``restrictedTo``."""
    if not isinstance(restricted, list) or not restricted or not index:
        return True
    for item in restricted:
        if isinstance(item, dict) and item.get("index") == index:
            collections = item.get("collections")
            return not collections or collection in collections
    return False
