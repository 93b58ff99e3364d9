"""Kuzzle's HTTP routes, and a router that matches URLs the way Kuzzle's does.

The table is Kuzzle 2.56.0's ``lib/api/httpRoutes.js`` (deprecated routes included, as
Kuzzle still serves them): ``(verb, path, controller, action)``.
"""

from __future__ import annotations

import urllib.parse
from typing import Final

ROUTES: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("GET", "/_me", "auth", "getCurrentUser"),
    ("GET", "/_me/_rights", "auth", "getMyRights"),
    ("GET", "/_me/credentials/:strategy", "auth", "getMyCredentials"),
    ("GET", "/_me/credentials/:strategy/_exists", "auth", "credentialsExist"),
    ("GET", "/strategies", "auth", "getStrategies"),
    ("GET", "/users/_me", "auth", "getCurrentUser"),  # deprecated
    ("GET", "/users/_me/_rights", "auth", "getMyRights"),  # deprecated
    ("GET", "/credentials/:strategy/_me", "auth", "getMyCredentials"),  # deprecated
    ("GET", "/credentials/:strategy/_me/_exists", "auth", "credentialsExist"),  # deprecated
    ("GET", "/debug/_nodeVersion", "debug", "nodeVersion"),
    ("POST", "/debug/_post", "debug", "post"),
    ("POST", "/debug/_enable", "debug", "enable"),
    ("POST", "/debug/_disable", "debug", "disable"),
    ("GET", "/_login/:strategy", "auth", "login"),
    ("GET", "/:index/:collection/_export", "document", "export"),
    ("GET", "/:index/:collection/_exists", "collection", "exists"),
    ("GET", "/:index/:collection/_mapping", "collection", "getMapping"),
    ("GET", "/:index/:collection/_settings", "collection", "getSettings"),
    ("GET", "/:index/:collection/_search", "document", "search"),
    ("GET", "/:index/:collection/_specifications", "collection", "getSpecifications"),
    ("GET", "/validations/_scroll/:scrollId", "collection", "scrollSpecifications"),
    ("GET", "/:index/_list", "collection", "list"),
    ("POST", "/admin/_refreshIndexCache", "admin", "refreshIndexCache"),
    ("POST", "/admin/_resetCache", "admin", "resetCache"),
    ("POST", "/admin/_resetSecurity", "admin", "resetSecurity"),
    ("POST", "/admin/_resetDatabase", "admin", "resetDatabase"),
    ("POST", "/admin/_resetKuzzleData", "admin", "resetKuzzleData"),
    ("POST", "/admin/_dump", "admin", "dump"),
    ("POST", "/admin/_shutdown/", "admin", "shutdown"),
    ("POST", "/admin/_loadFixtures", "admin", "loadFixtures"),
    ("POST", "/admin/_loadMappings", "admin", "loadMappings"),
    ("POST", "/admin/_loadSecurities", "admin", "loadSecurities"),
    ("GET", "/:index/:collection/:_id", "document", "get"),
    ("GET", "/:index/:collection/_mGet", "document", "mGet"),
    ("GET", "/:index/:collection/:_id/_exists", "document", "exists"),
    ("POST", "/:index/:collection/_mExists", "document", "mExists"),
    ("GET", "/_scroll/:scrollId", "document", "scroll"),
    ("GET", "/:index/_exists", "index", "exists"),
    ("GET", "/:index/_autoRefresh", "index", "getAutoRefresh"),
    ("GET", "/_list", "index", "list"),
    ("GET", "/_storageStats", "index", "stats"),
    ("GET", "/_listSubscriptions", "realtime", "list"),
    ("GET", "/profiles/:_id", "security", "getProfile"),
    ("GET", "/profiles/:_id/_rights", "security", "getProfileRights"),
    ("GET", "/roles/:_id", "security", "getRole"),
    ("GET", "/users/:_id", "security", "getUser"),
    ("GET", "/users/:_id/_strategies", "security", "getUserStrategies"),
    ("GET", "/users/_mGet", "security", "mGetUsers"),
    ("GET", "/users/:_id/_rights", "security", "getUserRights"),
    ("GET", "/profiles/_mapping", "security", "getProfileMapping"),
    ("GET", "/roles/_mapping", "security", "getRoleMapping"),
    ("GET", "/users/_mapping", "security", "getUserMapping"),
    ("GET", "/users/_scroll/:scrollId", "security", "scrollUsers"),
    ("GET", "/credentials/:strategy/:_id", "security", "getCredentials"),
    ("GET", "/credentials/:strategy/:_id/_byId", "security", "getCredentialsById"),
    ("GET", "/credentials/:strategy/:_id/_exists", "security", "hasCredentials"),
    ("GET", "/credentials/:strategy/_fields", "security", "getCredentialFields"),
    ("GET", "/credentials/_fields", "security", "getAllCredentialFields"),
    ("GET", "/profiles/_scroll/:scrollId", "security", "scrollProfiles"),
    ("GET", "/_adminExists", "server", "adminExists"),
    ("GET", "/_getAllStats", "server", "getAllStats"),  # deprecated
    ("GET", "/_getConfig", "server", "getConfig"),
    ("GET", "/_capabilities", "server", "capabilities"),
    ("GET", "/_getLastStats", "server", "getLastStats"),  # deprecated
    ("GET", "/_getStats", "server", "getStats"),  # deprecated
    ("GET", "/", "server", "info"),
    ("GET", "/_healthCheck", "server", "healthCheck"),
    ("GET", "/_serverInfo", "server", "info"),
    ("GET", "/_now", "server", "now"),
    ("GET", "/_publicApi", "server", "publicApi"),  # deprecated
    ("GET", "/_openapi", "server", "openapi"),
    ("GET", "/_metrics", "server", "metrics"),
    ("GET", "/ms/_bitcount/:_id", "ms", "bitcount"),
    ("GET", "/ms/_bitpos/:_id", "ms", "bitpos"),
    ("GET", "/ms/_dbsize", "ms", "dbsize"),
    ("GET", "/ms/_getbit/:_id", "ms", "getbit"),
    ("GET", "/ms/_getrange/:_id", "ms", "getrange"),
    ("GET", "/ms/_exists", "ms", "exists"),
    ("GET", "/ms/_geodist/:_id/:member1/:member2", "ms", "geodist"),
    ("GET", "/ms/_geohash/:_id", "ms", "geohash"),
    ("GET", "/ms/_geopos/:_id", "ms", "geopos"),
    ("GET", "/ms/_georadius/:_id", "ms", "georadius"),
    ("GET", "/ms/_georadiusbymember/:_id", "ms", "georadiusbymember"),
    ("GET", "/ms/_hexists/:_id/:field", "ms", "hexists"),
    ("GET", "/ms/_hget/:_id/:field", "ms", "hget"),
    ("GET", "/ms/_hgetall/:_id", "ms", "hgetall"),
    ("GET", "/ms/_hkeys/:_id", "ms", "hkeys"),
    ("GET", "/ms/_hlen/:_id", "ms", "hlen"),
    ("GET", "/ms/_hmget/:_id", "ms", "hmget"),
    ("GET", "/ms/_hscan/:_id", "ms", "hscan"),
    ("GET", "/ms/_hstrlen/:_id/:field", "ms", "hstrlen"),
    ("GET", "/ms/_hvals/:_id", "ms", "hvals"),
    ("GET", "/ms/_keys/:pattern", "ms", "keys"),
    ("GET", "/ms/_lindex/:_id/:idx", "ms", "lindex"),
    ("GET", "/ms/_llen/:_id", "ms", "llen"),
    ("GET", "/ms/_lrange/:_id", "ms", "lrange"),
    ("GET", "/ms/_mget", "ms", "mget"),
    ("GET", "/ms/_object/:_id", "ms", "object"),
    ("GET", "/ms/_pfcount", "ms", "pfcount"),
    ("GET", "/ms/_ping", "ms", "ping"),
    ("GET", "/ms/_pttl/:_id", "ms", "pttl"),
    ("GET", "/ms/_randomkey", "ms", "randomkey"),
    ("GET", "/ms/_scan", "ms", "scan"),
    ("GET", "/ms/_scard/:_id", "ms", "scard"),
    ("GET", "/ms/_sdiff/:_id", "ms", "sdiff"),
    ("GET", "/ms/_sinter", "ms", "sinter"),
    ("GET", "/ms/_sismember/:_id/:member", "ms", "sismember"),
    ("GET", "/ms/_smembers/:_id", "ms", "smembers"),
    ("GET", "/ms/_srandmember/:_id", "ms", "srandmember"),
    ("GET", "/ms/_sscan/:_id", "ms", "sscan"),
    ("GET", "/ms/_strlen/:_id", "ms", "strlen"),
    ("GET", "/ms/_sunion", "ms", "sunion"),
    ("GET", "/ms/_time", "ms", "time"),
    ("GET", "/ms/_ttl/:_id", "ms", "ttl"),
    ("GET", "/ms/_type/:_id", "ms", "type"),
    ("GET", "/ms/_zcard/:_id", "ms", "zcard"),
    ("GET", "/ms/_zcount/:_id", "ms", "zcount"),
    ("GET", "/ms/_zlexcount/:_id", "ms", "zlexcount"),
    ("GET", "/ms/_zrange/:_id", "ms", "zrange"),
    ("GET", "/ms/_zrangebylex/:_id", "ms", "zrangebylex"),
    ("GET", "/ms/_zrevrangebylex/:_id", "ms", "zrevrangebylex"),
    ("GET", "/ms/_zrangebyscore/:_id", "ms", "zrangebyscore"),
    ("GET", "/ms/_zrank/:_id/:member", "ms", "zrank"),
    ("GET", "/ms/_zrevrange/:_id", "ms", "zrevrange"),
    ("GET", "/ms/_zrevrangebyscore/:_id", "ms", "zrevrangebyscore"),
    ("GET", "/ms/_zrevrank/:_id/:member", "ms", "zrevrank"),
    ("GET", "/ms/_zscan/:_id", "ms", "zscan"),
    ("GET", "/ms/_zscore/:_id/:member", "ms", "zscore"),
    ("GET", "/ms/:_id", "ms", "get"),
    ("GET", "/cluster/_status", "cluster", "status"),
    ("POST", "/_login/:strategy", "auth", "login"),
    ("POST", "/_logout", "auth", "logout"),
    ("POST", "/_checkToken", "auth", "checkToken"),
    ("POST", "/_createToken", "auth", "createToken"),
    ("POST", "/_refreshToken", "auth", "refreshToken"),
    ("POST", "/_me/credentials/:strategy/_create", "auth", "createMyCredentials"),
    ("POST", "/_me/credentials/:strategy/_validate", "auth", "validateMyCredentials"),
    ("POST", "/credentials/:strategy/_me/_create", "auth", "createMyCredentials"),  # deprecated
    ("POST", "/credentials/:strategy/_me/_validate", "auth", "validateMyCredentials"),  # deprecated
    ("POST", "/:index/:collection/_validateSpecifications", "collection", "validateSpecifications"),
    ("POST", "/validations/_search", "collection", "searchSpecifications"),
    ("POST", "/:index/:collection/_bulk", "bulk", "import"),
    ("POST", "/:index/:collection/_mWrite", "bulk", "mWrite"),
    ("POST", "/:index/:collection/_write", "bulk", "write"),
    ("POST", "/:index/:collection/_refresh", "collection", "refresh"),
    ("POST", "/_security/:collection/_refresh", "security", "refresh"),
    ("POST", "/:index/_create", "index", "create"),
    ("POST", "/:index/:collection/_count", "document", "count"),
    ("POST", "/:index/:collection/_create", "document", "create"),
    ("POST", "/:index/:collection/:_id/_create", "document", "create"),
    ("POST", "/:index/:collection/_publish", "realtime", "publish"),
    ("POST", "/:index/:collection/_export", "document", "export"),
    ("POST", "/:index/:collection/_search", "document", "search"),
    ("POST", "/:index/:collection/_mGet", "document", "mGet"),
    ("POST", "/:index/:collection/_mCreate", "document", "mCreate"),
    ("POST", "/:index/:collection/_mUpsert", "document", "mUpsert"),
    ("POST", "/:index/:collection/:_id/_upsert", "document", "upsert"),
    ("POST", "/:index/:collection/_validate", "document", "validate"),
    ("POST", "/_createFirstAdmin/:_id", "security", "createFirstAdmin"),
    ("POST", "/_createFirstAdmin", "security", "createFirstAdmin"),
    ("POST", "/_restrictDefaultRights", "security", "restrictDefaultRights"),
    ("POST", "/credentials/:strategy/:_id/_create", "security", "createCredentials"),
    ("POST", "/profiles/:_id/_create", "security", "createProfile"),
    ("POST", "/roles/:_id/_create", "security", "createRole"),
    ("POST", "/users/_createRestricted", "security", "createRestrictedUser"),
    ("POST", "/users/:_id/_createRestricted", "security", "createRestrictedUser"),
    ("POST", "/users/_create", "security", "createUser"),
    ("POST", "/users/:_id/_create", "security", "createUser"),
    ("POST", "/profiles/_mDelete", "security", "mDeleteProfiles"),
    ("POST", "/roles/_mDelete", "security", "mDeleteRoles"),
    ("POST", "/users/_mDelete", "security", "mDeleteUsers"),
    ("POST", "/profiles/_mGet", "security", "mGetProfiles"),
    ("POST", "/users/_mGet", "security", "mGetUsers"),
    ("POST", "/roles/_mGet", "security", "mGetRoles"),
    ("POST", "/profiles/_search", "security", "searchProfiles"),
    ("POST", "/roles/_search", "security", "searchRoles"),
    ("POST", "/users/_search", "security", "searchUsers"),
    ("POST", "/credentials/:strategy/users/_search", "security", "searchUsersByCredentials"),
    ("POST", "/users/:_id/_upsert", "security", "upsertUser"),
    ("POST", "/credentials/:strategy/:_id/_validate", "security", "validateCredentials"),
    ("POST", "/_checkRights", "auth", "checkRights"),
    ("POST", "/_checkRights/:userId", "security", "checkRights"),
    ("POST", "/users/:userId/api-keys/_create", "security", "createApiKey"),
    ("POST", "/users/:userId/api-keys/_search", "security", "searchApiKeys"),
    ("POST", "/api-keys/_create", "auth", "createApiKey"),
    ("POST", "/api-keys/_search", "auth", "searchApiKeys"),
    ("POST", "/ms/_append/:_id", "ms", "append"),
    ("POST", "/ms/_bgrewriteaof", "ms", "bgrewriteaof"),
    ("POST", "/ms/_bgsave", "ms", "bgsave"),
    ("POST", "/ms/_bitop/:_id", "ms", "bitop"),
    ("POST", "/ms/_decr/:_id", "ms", "decr"),
    ("POST", "/ms/_decrby/:_id", "ms", "decrby"),
    ("POST", "/ms/_expire/:_id", "ms", "expire"),
    ("POST", "/ms/_expireat/:_id", "ms", "expireat"),
    ("POST", "/ms/_flushdb", "ms", "flushdb"),
    ("POST", "/ms/_geoadd/:_id", "ms", "geoadd"),
    ("POST", "/ms/_getset/:_id", "ms", "getset"),
    ("POST", "/ms/_hincrby/:_id", "ms", "hincrby"),
    ("POST", "/ms/_hincrbyfloat/:_id", "ms", "hincrbyfloat"),
    ("POST", "/ms/_hmset/:_id", "ms", "hmset"),
    ("POST", "/ms/_hset/:_id", "ms", "hset"),
    ("POST", "/ms/_hsetnx/:_id", "ms", "hsetnx"),
    ("POST", "/ms/_incr/:_id", "ms", "incr"),
    ("POST", "/ms/_incrby/:_id", "ms", "incrby"),
    ("POST", "/ms/_incrbyfloat/:_id", "ms", "incrbyfloat"),
    ("POST", "/ms/_linsert/:_id", "ms", "linsert"),
    ("POST", "/ms/_lpop/:_id", "ms", "lpop"),
    ("POST", "/ms/_lpush/:_id", "ms", "lpush"),
    ("POST", "/ms/_lpushx/:_id", "ms", "lpushx"),
    ("POST", "/ms/_lset/:_id", "ms", "lset"),
    ("POST", "/ms/_ltrim/:_id", "ms", "ltrim"),
    ("POST", "/ms/_mexecute", "ms", "mexecute"),
    ("POST", "/ms/_mset", "ms", "mset"),
    ("POST", "/ms/_msetnx", "ms", "msetnx"),
    ("POST", "/ms/_persist/:_id", "ms", "persist"),
    ("POST", "/ms/_pexpire/:_id", "ms", "pexpire"),
    ("POST", "/ms/_pexpireat/:_id", "ms", "pexpireat"),
    ("POST", "/ms/_pfadd/:_id", "ms", "pfadd"),
    ("POST", "/ms/_pfmerge/:_id", "ms", "pfmerge"),
    ("POST", "/ms/_psetex/:_id", "ms", "psetex"),
    ("POST", "/ms/_rename/:_id", "ms", "rename"),
    ("POST", "/ms/_renamenx/:_id", "ms", "renamenx"),
    ("POST", "/ms/_rpop/:_id", "ms", "rpop"),
    ("POST", "/ms/_rpoplpush", "ms", "rpoplpush"),
    ("POST", "/ms/_rpush/:_id", "ms", "rpush"),
    ("POST", "/ms/_rpushx/:_id", "ms", "rpushx"),
    ("POST", "/ms/_sadd/:_id", "ms", "sadd"),
    ("POST", "/ms/_sdiffstore/:_id", "ms", "sdiffstore"),
    ("POST", "/ms/_set/:_id", "ms", "set"),
    ("POST", "/ms/_setex/:_id", "ms", "setex"),
    ("POST", "/ms/_setnx/:_id", "ms", "setnx"),
    ("POST", "/ms/_sinterstore", "ms", "sinterstore"),
    ("POST", "/ms/_smove/:_id", "ms", "smove"),
    ("POST", "/ms/_sort/:_id", "ms", "sort"),
    ("POST", "/ms/_spop/:_id", "ms", "spop"),
    ("POST", "/ms/_sunionstore", "ms", "sunionstore"),
    ("POST", "/ms/_touch", "ms", "touch"),
    ("POST", "/ms/_zadd/:_id", "ms", "zadd"),
    ("POST", "/ms/_zincrby/:_id", "ms", "zincrby"),
    ("POST", "/ms/_zinterstore/:_id", "ms", "zinterstore"),
    ("POST", "/ms/_zunionstore/:_id", "ms", "zunionstore"),
    ("DELETE", "/_me/credentials/:strategy", "auth", "deleteMyCredentials"),
    ("DELETE", "/credentials/:strategy/_me", "auth", "deleteMyCredentials"),  # deprecated
    ("DELETE", "/:index/:collection/_specifications", "collection", "deleteSpecifications"),
    ("DELETE", "/:index/:collection/_truncate", "collection", "truncate"),
    ("DELETE", "/:index/:collection/:_id", "document", "delete"),
    ("DELETE", "/:index/:collection/:_id/_fields", "document", "deleteFields"),
    ("DELETE", "/:index/:collection/_query", "document", "deleteByQuery"),
    ("DELETE", "/:index/:collection/_bulk/_query", "bulk", "deleteByQuery"),
    ("DELETE", "/:index/:collection/_mDelete", "document", "mDelete"),
    ("DELETE", "/:index", "index", "delete"),
    ("DELETE", "/_mDelete", "index", "mDelete"),
    ("DELETE", "/_mdelete", "index", "mDelete"),  # deprecated
    ("DELETE", "/:index/:collection", "collection", "delete"),
    ("DELETE", "/profiles/:_id", "security", "deleteProfile"),
    ("DELETE", "/roles/:_id", "security", "deleteRole"),
    ("DELETE", "/users/:_id", "security", "deleteUser"),
    ("DELETE", "/credentials/:strategy/:_id", "security", "deleteCredentials"),
    ("DELETE", "/users/:_id/tokens", "security", "revokeTokens"),
    ("DELETE", "/ms", "ms", "del"),
    ("DELETE", "/ms/_hdel/:_id", "ms", "hdel"),
    ("DELETE", "/ms/_lrem/:_id", "ms", "lrem"),
    ("DELETE", "/ms/_srem/:_id", "ms", "srem"),
    ("DELETE", "/ms/_zrem/:_id", "ms", "zrem"),
    ("DELETE", "/ms/_zremrangebylex/:_id", "ms", "zremrangebylex"),
    ("DELETE", "/ms/_zremrangebyrank/:_id", "ms", "zremrangebyrank"),
    ("DELETE", "/ms/_zremrangebyscore/:_id", "ms", "zremrangebyscore"),
    ("DELETE", "/users/:userId/api-keys/:_id", "security", "deleteApiKey"),
    ("DELETE", "/api-keys/:_id", "auth", "deleteApiKey"),
    ("PUT", "/_me", "auth", "updateSelf"),
    ("PUT", "/_me/credentials/:strategy/_update", "auth", "updateMyCredentials"),
    ("PUT", "/_updateSelf", "auth", "updateSelf"),  # deprecated
    ("PUT", "/credentials/:strategy/_me/_update", "auth", "updateMyCredentials"),  # deprecated
    ("PUT", "/:index/:collection", "collection", "create"),
    ("POST", "/:index/:collection", "collection", "update"),
    ("PUT", "/:index/:collection/_mapping", "collection", "updateMapping"),  # deprecated
    ("PUT", "/:index/:collection/_specifications", "collection", "updateSpecifications"),
    ("PUT", "/:index/:collection/:_id", "document", "createOrReplace"),
    ("PUT", "/:index/:collection/_mCreateOrReplace", "document", "mCreateOrReplace"),
    ("PUT", "/:index/:collection/:_id/_replace", "document", "replace"),
    ("PUT", "/:index/:collection/_mReplace", "document", "mReplace"),
    ("PUT", "/:index/:collection/_mUpdate", "document", "mUpdate"),  # deprecated
    ("PUT", "/:index/:collection/:_id/_update", "document", "update"),  # deprecated
    ("PUT", "/:index/:collection/:_id/_upsert", "document", "upsert"),  # deprecated
    ("PUT", "/:index/:collection/_query", "document", "updateByQuery"),
    ("PUT", "/profiles/:_id", "security", "createOrReplaceProfile"),
    ("PUT", "/roles/:_id", "security", "createOrReplaceRole"),
    ("PUT", "/credentials/:strategy/:_id/_update", "security", "updateCredentials"),
    ("PUT", "/profiles/:_id/_update", "security", "updateProfile"),
    ("PUT", "/roles/:_id/_update", "security", "updateRole"),
    ("PUT", "/users/:_id/_update", "security", "updateUser"),
    ("PUT", "/users/:_id/_replace", "security", "replaceUser"),
    ("PUT", "/profiles/_mapping", "security", "updateProfileMapping"),
    ("PUT", "/roles/_mapping", "security", "updateRoleMapping"),
    ("PUT", "/users/_mapping", "security", "updateUserMapping"),
    ("PATCH", "/:index/:collection/_mUpdate", "document", "mUpdate"),
    ("PATCH", "/:index/:collection/:_id/_update", "document", "update"),
    ("PATCH", "/:index/:collection/_bulk/_query", "bulk", "updateByQuery"),
)


class _Node:
    __slots__ = ("leaf", "parts")

    def __init__(self) -> None:
        self.parts: dict[str, _Node] = {}
        # (controller, action, placeholder names in URL order)
        self.leaf: tuple[str, str, tuple[str, ...]] | None = None


_trees: dict[str, _Node] | None = None


def _build() -> dict[str, _Node]:
    trees: dict[str, _Node] = {}
    for verb, path, controller, action in ROUTES:
        node = trees.setdefault(verb, _Node())
        names: list[str] = []
        for part in (p for p in path.split("/") if p):
            if part.startswith(":"):
                names.append(part[1:])
                part = "*"
            node = node.parts.setdefault(part, _Node())
        if node.leaf is None:
            node.leaf = (controller, action, tuple(names))
    return trees


def route(verb: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    """``(controller, action, url arguments)`` for a request, or None for an unknown URL.

    Like Kuzzle's router: a static part beats a placeholder at each level, with no
    backtracking, and empty segments are ignored.
    """
    global _trees
    if _trees is None:
        _trees = _build()
    node = _trees.get(verb)
    values: list[str] = []
    for raw in (p for p in path.split("/") if p):
        if node is None:
            return None
        part = urllib.parse.unquote(raw)
        if part in node.parts:
            node = node.parts[part]
        elif "*" in node.parts:
            values.append(part)
            node = node.parts["*"]
        else:
            return None
    if node is None or node.leaf is None:
        return None
    controller, action, names = node.leaf
    return controller, action, dict(zip(names, values, strict=True))


def public_api() -> dict[str, dict[str, dict[str, object]]]:
    """A ``server:publicApi`` result: each action with its HTTP routes (SDKs build URLs
    from it)."""
    api: dict[str, dict[str, dict[str, object]]] = {}
    for verb, path, controller, action in ROUTES:
        entry = api.setdefault(controller, {}).setdefault(
            action, {"controller": controller, "action": action, "http": []}
        )
        http = entry["http"]
        assert isinstance(http, list)
        http.append({"verb": verb, "path": path, "url": path})
    return api
