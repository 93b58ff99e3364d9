"""The stub's storage: indexes, collections and documents in memory, as Kuzzle 2.56.0 over
Elasticsearch 7 answers them (``lib/service/storage/7/elasticsearch.ts``, ``indexCache.ts``).

Documents keep their ``_source`` (``_kuzzle_info`` included) and a ``_version`` raised on each
write. Searches and counts understand a subset of Elasticsearch's query language
(:data:`QUERY_KEYWORDS`); a query outside it is answered with a 500 naming the keyword, never
with a wrong match.
"""

from __future__ import annotations

import copy
import functools
import operator
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from kuzzle_errors._stub.request import KuzzleFailure, failure

#: The query keywords search, count, deleteByQuery and updateByQuery understand.
QUERY_KEYWORDS: Final = (
    "bool",
    "exists",
    "ids",
    "match",
    "match_all",
    "match_none",
    "match_phrase",
    "prefix",
    "range",
    "term",
    "terms",
    "wildcard",
)
# Elasticsearch's own keywords the stub does not evaluate: answered as unsupported (500), where
# an unknown one gets Kuzzle's 400 services.storage.unknown_query_keyword.
_ES_KEYWORDS: Final = frozenset(
    {
        "boosting",
        "combined_fields",
        "constant_score",
        "dis_max",
        "distance_feature",
        "function_score",
        "fuzzy",
        "geo_bounding_box",
        "geo_distance",
        "geo_polygon",
        "geo_shape",
        "has_child",
        "has_parent",
        "intervals",
        "match_bool_prefix",
        "match_phrase_prefix",
        "more_like_this",
        "multi_match",
        "nested",
        "parent_id",
        "percolate",
        "pinned",
        "query_string",
        "rank_feature",
        "regexp",
        "script",
        "script_score",
        "shape",
        "simple_query_string",
        "span_containing",
        "span_first",
        "span_multi",
        "span_near",
        "span_not",
        "span_or",
        "span_term",
        "span_within",
        "terms_set",
        "wrapper",
    }
)
#: The top-level keys of a search body Kuzzle lets through to Elasticsearch.
SEARCH_BODY_KEYS: Final = frozenset(
    {
        "aggregations",
        "aggs",
        "collapse",
        "explain",
        "fields",
        "from",
        "highlight",
        "post_filter",
        "query",
        "search_after",
        "search_timeout",
        "size",
        "sort",
        "suggest",
        "_name",
        "_source",
        "_source_excludes",
        "_source_includes",
    }
)
#: The bounds of a range query (Koncorde's range has the same four).
COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_FORBIDDEN_NAME_CHARS: Final = '\\/*?"<>| \t\r\n,+#:.&%'
_HIDDEN: Final = "_kuzzle_keep"
_TOKEN: Final = re.compile(r"\w+", re.UNICODE)


def new_id() -> str:
    """An id like Elasticsearch's generated ones (20 URL-safe characters)."""
    return secrets.token_urlsafe(15)


def valid_name(name: object) -> bool:
    """Kuzzle's rule for index and collection names."""
    if not isinstance(name, str) or not name or name.lower() != name:
        return False
    if len(name.encode()) > 126 or name == "_all":
        return False
    return not any(char in name for char in _FORBIDDEN_NAME_CHARS)


@dataclass
class Document:
    source: dict[str, Any]
    version: int = 1

    def view(self, doc_id: str) -> dict[str, Any]:
        """The ``{_id, _source, _version}`` Kuzzle answers."""
        return {"_id": doc_id, "_source": copy.deepcopy(self.source), "_version": self.version}


@dataclass
class Collection:
    properties: dict[str, Any] = field(default_factory=dict)
    dynamic: str = "false"  # Kuzzle's commonMapping.dynamic
    meta: dict[str, Any] | None = None
    documents: dict[str, Document] = field(default_factory=dict)


class Storage:
    """The public indexes of one stub."""

    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, Collection]] = {}

    def clear(self) -> None:
        self.indexes.clear()

    # Indexes and collections, with Kuzzle's existence checks (its index cache).

    def collection(self, index: str, collection: str) -> Collection:
        """The collection, or Kuzzle's 412 ``unknown_index``/``unknown_collection``."""
        if index not in self.indexes:
            raise failure("services.storage.unknown_index", index)
        found = self.indexes[index].get(collection)
        if found is None:
            raise failure("services.storage.unknown_collection", index, collection)
        return found

    def create_index(self, index: str) -> None:
        if not valid_name(index):
            raise failure("services.storage.invalid_index_name", index)
        if index in self.indexes:
            raise failure("services.storage.index_already_exists", "public", index)
        self.indexes[index] = {}

    def delete_index(self, index: str) -> None:
        if index not in self.indexes:
            raise failure("services.storage.unknown_index", index)
        del self.indexes[index]

    def create_collection(self, index: str, collection: str, config: dict[str, Any]) -> None:
        """Create (or, existing, update) a collection; its index too if need be."""
        if not valid_name(index):
            raise failure("services.storage.invalid_index_name", index)
        if not valid_name(collection):
            raise failure("services.storage.invalid_collection_name", collection)
        if collection == _HIDDEN:
            raise failure("services.storage.collection_reserved", _HIDDEN)
        mappings = config.get("mappings", {})
        if not isinstance(mappings, dict):
            raise failure("api.assert.invalid_type", "mappings", "object")
        dynamic = mappings.get("dynamic")
        if dynamic is not None and str(dynamic).lower() not in ("true", "false", "strict"):
            raise failure(
                "services.storage.invalid_mapping",
                "dynamic",
                f' Dynamic property value should be a string ("true", "false" or "strict"). '
                f"Got {dynamic!r}",
            )
        found = self.indexes.setdefault(index, {}).setdefault(collection, Collection())
        properties = mappings.get("properties")
        if isinstance(properties, dict):
            found.properties = {**found.properties, **copy.deepcopy(properties)}
        if dynamic is not None:
            found.dynamic = str(dynamic).lower()
        if isinstance(mappings.get("_meta"), dict):
            found.meta = copy.deepcopy(mappings["_meta"])

    def mapping(self, index: str, collection: str) -> dict[str, Any]:
        found = self.collection(index, collection)
        out: dict[str, Any] = {}
        if found.meta is not None:
            out["_meta"] = copy.deepcopy(found.meta)
        out["dynamic"] = found.dynamic
        out["properties"] = copy.deepcopy(found.properties)
        return out

    def delete_collection(self, index: str, collection: str) -> None:
        self.collection(index, collection)
        del self.indexes[index][collection]

    # Documents.

    def get(self, index: str, collection: str, doc_id: str) -> dict[str, Any]:
        found = self.collection(index, collection).documents.get(doc_id)
        if found is None:
            raise failure("services.storage.not_found", doc_id, index, collection)
        return found.view(doc_id)

    def put(
        self, index: str, collection: str, doc_id: str | None, source: dict[str, Any]
    ) -> tuple[str, Document, bool]:
        """Write ``source`` under ``doc_id`` (a new id when None): the id, the document and
        whether it was created."""
        documents = self.collection(index, collection).documents
        doc_id = doc_id if doc_id is not None else new_id()
        old = documents.get(doc_id)
        document = Document(copy.deepcopy(source), old.version + 1 if old else 1)
        documents[doc_id] = document
        return doc_id, document, old is None

    def remove(self, index: str, collection: str, doc_id: str) -> dict[str, Any]:
        """Delete a document; its last view (Kuzzle reads it before deleting)."""
        view = self.get(index, collection, doc_id)
        del self.indexes[index][collection].documents[doc_id]
        return view

    # Searches.

    def search(
        self, index: str, collection: str, body: dict[str, Any]
    ) -> list[tuple[str, Document]]:
        """Every document the search body's query and sort select, in order."""
        documents = self.collection(index, collection).documents
        check_search_body(body)
        query = body.get("query") or {"match_all": {}}
        matcher = compile_query(query)
        hits = [(doc_id, doc) for doc_id, doc in documents.items() if matcher(doc_id, doc.source)]
        for key, reverse in reversed(_sort_keys(body.get("sort"))):
            hits.sort(key=functools.partial(_sort_value, key=key), reverse=reverse)
        return hits


def check_search_body(body: object) -> None:
    """Kuzzle's sanitizing: a body is an object whose top-level keys ES may see."""
    if not isinstance(body, dict):
        raise failure("api.assert.invalid_type", "body", "object")
    for key, value in body.items():
        if value is not None and key not in SEARCH_BODY_KEYS:
            raise failure("services.storage.invalid_search_query", key)


Matcher = Callable[[str, dict[str, Any]], bool]


def compile_query(query: object) -> Matcher:
    """A function telling whether ``(_id, _source)`` matches an ES query of the subset."""
    if not isinstance(query, dict) or not query:
        return lambda _id, _source: True
    if len(query) != 1:
        raise _malformed("[_na] query malformed, must start with start_object")
    ((keyword, spec),) = query.items()
    if keyword in _COMPILERS:
        return _COMPILERS[keyword](spec)
    if keyword in _ES_KEYWORDS:
        raise failure(
            "core.fatal.unexpected_error",
            f'the Kuzzle stub does not evaluate the "{keyword}" query (it knows: '
            f"{', '.join(QUERY_KEYWORDS)}); script the answer with StubKuzzle.respond()",
        )
    raise failure("services.storage.unknown_query_keyword", keyword)


def _malformed(reason: str) -> KuzzleFailure:
    # Elasticsearch's 400 on a malformed query, as Kuzzle passes it on.
    return failure("services.storage.unexpected_bad_request", reason)


def _field_spec(spec: object, inner: str) -> tuple[str, Any]:
    """``{field: value}`` or ``{field: {inner: value}}``: the field and the value."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise _malformed("[_na] query malformed: one field expected")
    ((name, value),) = spec.items()
    if isinstance(value, dict) and inner in value:
        value = value[inner]
    return name, value


def values_at(source: Any, path: str) -> list[Any]:
    """Every value at a dotted ``path`` (arrays flattened, as ES indexes them)."""
    current = [source]
    for part in path.split("."):
        nxt: list[Any] = []
        for item in current:
            for obj in item if isinstance(item, list) else [item]:
                if isinstance(obj, dict) and part in obj:
                    nxt.append(obj[part])
        current = nxt
    flat: list[Any] = []
    for value in current:
        flat.extend(value if isinstance(value, list) else [value])
    return [value for value in flat if value is not None]


def _equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or str(a).lower() == str(b).lower()
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return a == b


def _tokens(value: object) -> set[str]:
    return {token.lower() for token in _TOKEN.findall(str(value))}


def _match(spec: object) -> Matcher:
    name, wanted = _field_spec(spec, "query")

    def test(_id: str, source: dict[str, Any]) -> bool:
        found = values_at(source, name)
        if isinstance(wanted, str):
            tokens = _tokens(wanted)
            return any(tokens & _tokens(value) for value in found if isinstance(value, str))
        return any(_equal(value, wanted) for value in found)

    return test


def _match_phrase(spec: object) -> Matcher:
    name, wanted = _field_spec(spec, "query")
    phrase = " ".join(_TOKEN.findall(str(wanted).lower()))

    def test(_id: str, source: dict[str, Any]) -> bool:
        return any(
            phrase in " ".join(_TOKEN.findall(str(value).lower()))
            for value in values_at(source, name)
        )

    return test


def _term(spec: object) -> Matcher:
    name, wanted = _field_spec(spec, "value")
    if name == "_id":
        return lambda _id, _source: _id == wanted
    return lambda _id, source: any(_equal(v, wanted) for v in values_at(source, name))


def _terms(spec: object) -> Matcher:
    if not isinstance(spec, dict):
        raise _malformed("[terms] query malformed")
    fields = {k: v for k, v in spec.items() if k != "boost"}
    if len(fields) != 1 or not isinstance(next(iter(fields.values())), list):
        raise _malformed("[terms] query does not support multiple fields")
    ((name, wanted),) = fields.items()
    if name == "_id":
        return lambda _id, _source: _id in wanted
    return lambda _id, source: any(_equal(v, w) for v in values_at(source, name) for w in wanted)


def _ids(spec: object) -> Matcher:
    values = spec.get("values") if isinstance(spec, dict) else None
    if not isinstance(values, list):
        raise _malformed("[ids] query malformed, no values")
    wanted = {str(v) for v in values}
    return lambda _id, _source: _id in wanted


def _range(spec: object) -> Matcher:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise _malformed("[range] query malformed")
    ((name, bounds),) = spec.items()
    if not isinstance(bounds, dict):
        raise _malformed("[range] query malformed")
    checks = [(op, bounds[op]) for op in ("gt", "gte", "lt", "lte") if op in bounds]

    def within(value: Any) -> bool:
        try:
            return all(COMPARISONS[op](value, bound) for op, bound in checks)
        except TypeError:  # a string against a number, say: no match, as ES finds none
            return False

    return lambda _id, source: any(within(v) for v in values_at(source, name))


def _exists(spec: object) -> Matcher:
    name = spec.get("field") if isinstance(spec, dict) else None
    if not isinstance(name, str):
        raise _malformed("[exists] must be provided with a [field]")
    return lambda _id, source: bool(values_at(source, name))


def _prefix(spec: object) -> Matcher:
    name, wanted = _field_spec(spec, "value")
    return lambda _id, source: any(
        isinstance(v, str) and v.startswith(str(wanted)) for v in values_at(source, name)
    )


def _wildcard(spec: object) -> Matcher:
    name, wanted = _field_spec(spec, "value")
    pattern = re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in str(wanted)),
        re.S,
    )
    return lambda _id, source: any(
        isinstance(v, str) and pattern.fullmatch(v) is not None for v in values_at(source, name)
    )


def _clauses(value: object) -> list[Matcher]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [compile_query(item) for item in items]


def _bool(spec: object) -> Matcher:
    if not isinstance(spec, dict):
        raise _malformed("[bool] query malformed")
    must = _clauses(spec.get("must")) + _clauses(spec.get("filter"))
    must_not = _clauses(spec.get("must_not"))
    should = _clauses(spec.get("should"))
    minimum = spec.get("minimum_should_match", 0 if must else 1 if should else 0)
    minimum = (
        int(minimum) if isinstance(minimum, (int, float, str)) and str(minimum).isdigit() else 1
    )

    def test(_id: str, source: dict[str, Any]) -> bool:
        if not all(m(_id, source) for m in must):
            return False
        if any(m(_id, source) for m in must_not):
            return False
        return sum(m(_id, source) for m in should) >= minimum

    return test


_COMPILERS: Final[dict[str, Callable[[object], Matcher]]] = {
    "bool": _bool,
    "exists": _exists,
    "ids": _ids,
    "match": _match,
    "match_all": lambda _spec: lambda _id, _source: True,
    "match_none": lambda _spec: lambda _id, _source: False,
    "match_phrase": _match_phrase,
    "prefix": _prefix,
    "range": _range,
    "term": _term,
    "terms": _terms,
    "wildcard": _wildcard,
}


def _sort_keys(sort: object) -> list[tuple[str, bool]]:
    """``sort`` as ``(field, descending)`` pairs (a field, a list, ``{field: order}``)."""
    items: Iterable[object] = sort if isinstance(sort, list) else [sort] if sort else []
    keys: list[tuple[str, bool]] = []
    for item in items:
        if isinstance(item, str):
            keys.append((item, False))
        elif isinstance(item, dict):
            for name, order in item.items():
                if isinstance(order, dict):
                    order = order.get("order", "asc")
                keys.append((name, str(order).lower() == "desc"))
    return keys


def _sort_value(hit: tuple[str, Document], *, key: str) -> tuple[int, Any]:
    doc_id, document = hit
    if key == "_id":
        return (0, doc_id)
    values = values_at(document.source, key)
    if not values:
        return (2, "")  # missing values sort last
    value = values[0]
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))
