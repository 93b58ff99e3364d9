"""The catalogue is generated from Kuzzle's data and agrees with every seed table row."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from fresh_python import check_script, import_script

from kuzzle_errors import catalog

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
SHARED = ROOT.parent / "shared"  # the project's spec folder, beside the repo when present

generate_catalog = import_script("generate_catalog")


def test_generated_files_are_up_to_date() -> None:
    check_script("generate_catalog.py")


def test_generator_output_equals_committed_files() -> None:
    for path, text in generate_catalog.build().items():
        assert path.read_text(encoding="utf-8") == text, path


def test_stub_is_rendered_from_the_rows_given_not_the_installed_catalogue() -> None:
    v2 = generate_catalog.load_v2(DATA / "kuzzle-v2")
    v1 = generate_catalog.parse_seed_table(generate_catalog.find_seed("001"))
    changed = [
        (id_, code, cls, "A rewritten description" if id_ == "api.process.overloaded" else d, m, x)
        for id_, code, cls, d, m, x in v2
    ]
    added = ("api.process.brand_new", 0x0202FFFF, "NotFoundError", "Never shipped", "m", None)
    stub = generate_catalog.render_stub([*changed, added], v1)
    assert catalog.get("api.process.brand_new") is None  # only in the rows given
    assert "class ApiProcessBrandNew(NotFoundError):" in stub
    assert "``api.process.brand_new`` (0x0202ffff): NotFoundError, status 404." in stub
    overloaded = stub.split("class ApiProcessOverloaded", 1)[1].split("class ", 1)[0]
    assert "A rewritten description." in overloaded
    assert "discarded because the server is overloaded" not in overloaded
    assert "Literal['api.process.brand_new']" in stub


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared/ folder beside the repository")
def test_vendored_data_matches_the_shared_sources() -> None:
    for source in sorted((SHARED / "kuzzle-error-codes").iterdir()):
        assert filecmp.cmp(source, DATA / "kuzzle-v2" / source.name, shallow=False), source
    for prefix in ("000", "001"):
        (shared,) = (SHARED / "seeds").glob(f"{prefix}_*.txt")
        assert filecmp.cmp(shared, DATA / "seeds" / shared.name, shallow=False), shared


def test_counts_match_kuzzle() -> None:
    v2 = {spec.id for spec in catalog.all_specs(2)}
    v1 = {spec.id for spec in catalog.all_specs(1)}
    assert len(v2) == 274
    assert len(v1) == 209
    assert len(v1 & v2) == 206
    assert v1 - v2 == {
        "services.storage.incomplete_create",
        "services.storage.incomplete_fetch",
        "services.storage.index_reserved",
    }
    assert len(v2 - v1) == 68
    assert len(list(catalog.all_specs())) == 277
    assert sum(1 for spec in catalog.all_specs(2) if spec.deprecated) == 9


def test_shared_ids_have_identical_codes_and_classes() -> None:
    for spec in catalog.all_specs(1):
        if 2 in spec.versions:
            v2 = catalog.get(spec.id, version=2)
            assert v2 is not None
            assert (v2.code, v2.class_name, v2.status) == (spec.code, spec.class_name, spec.status)


@pytest.mark.parametrize(
    "row", generate_catalog.parse_seed_table(generate_catalog.find_seed("001")), ids=lambda r: r[0]
)
def test_every_v1_seed_row_matches(row: tuple[str, int, str, int, str]) -> None:
    error_id, code, class_name, status, description = row
    spec = catalog.get(error_id, version=1)
    assert spec is not None
    assert (spec.id, spec.code, spec.class_name, spec.status, spec.description) == row
    assert spec.hex == f"0x{code:08x}"
    assert 1 in spec.versions
    # The preferred (v2) entry agrees on everything but possibly the wording.
    preferred = catalog.get(error_id)
    assert preferred is not None
    assert (preferred.code, preferred.class_name, preferred.status) == (code, class_name, status)
    assert description


# Seed 000 is an older v2 page: one description has since been extended.
_REWORDED_SINCE_SEED_000 = {"api.process.incompatible_sdk_version"}


@pytest.mark.parametrize(
    "row", generate_catalog.parse_seed_table(generate_catalog.find_seed("000")), ids=lambda r: r[0]
)
def test_every_v2_api_seed_row_matches(row: tuple[str, int, str, int, str]) -> None:
    error_id, code, class_name, status, description = row
    spec = catalog.get(error_id, version=2)
    assert spec is not None
    assert (spec.code, spec.hex, spec.class_name, spec.status) == (
        code,
        f"0x{code:08x}",
        class_name,
        status,
    )
    if error_id in _REWORDED_SINCE_SEED_000:
        assert spec.description.startswith(description)
        assert spec.description != description
    else:
        assert spec.description == description


def test_seed_000_covers_the_api_domain_up_to_too_many_requests() -> None:
    rows = generate_catalog.parse_seed_table(generate_catalog.find_seed("000"))
    assert len(rows) == 19
    assert rows[-1][0] == "api.process.too_many_requests"


def test_lookup_by_id_code_hex_and_decimal() -> None:
    spec = catalog.get("api.process.overloaded")
    assert spec is not None
    assert spec.code == 0x02020002 == 33685506
    assert spec.hex == "0x02020002"
    assert (spec.domain, spec.subdomain, spec.name) == ("api", "process", "overloaded")
    assert spec.class_name == "ServiceUnavailableError"
    assert spec.status == 503
    assert spec.message == "Request discarded: Kuzzle Server is temporarily overloaded."
    assert spec.versions == (1, 2)
    assert catalog.get(0x02020002) is spec
    assert catalog.get("0x02020002") is spec
    assert catalog.get("0X02020002") is spec
    assert catalog.get("33685506") is spec
    assert catalog.get(33685506, version=2) is spec


def test_code_reused_between_versions() -> None:
    v2 = catalog.get(0x01010016)
    v1 = catalog.get(0x01010016, version=1)
    assert v2 is not None and v1 is not None
    assert v2.id == "services.storage.collection_reserved"
    assert v1.id == "services.storage.index_reserved"
    assert v1.versions == (1,)
    # A v1-only code is still found when asking for v2 (falls back to v1).
    fallback = catalog.get(0x0101000A)
    assert fallback is not None and fallback.id == "services.storage.incomplete_create"


def test_v1_only_ids_and_v2_only_ids() -> None:
    only_v1 = catalog.get("services.storage.incomplete_fetch")
    assert only_v1 is not None
    assert only_v1.versions == (1,)
    assert only_v1.message is None
    assert only_v1.class_name == "PartialError"
    assert only_v1.status == 206
    assert catalog.get("services.storage.incomplete_fetch", version=2) is None
    only_v2 = catalog.get("api.process.too_many_requests")
    assert only_v2 is not None and only_v2.versions == (2,)
    assert catalog.get("api.process.too_many_requests", version=1) is None


@pytest.mark.parametrize(
    "key", ["nope", "api.process.nope", "", "0x", "0xZZ", -1, 2**40, "1" * 30, 3.5, None, True]
)
def test_unknown_keys_give_none(key: object) -> None:
    assert catalog.get(key) is None  # type: ignore[arg-type]


def test_find() -> None:
    unavailable = catalog.find(status=503)
    assert {spec.id for spec in unavailable} == {
        "api.process.overloaded",
        "api.process.shutting_down",
        "api.process.not_enough_nodes",
        "network.entrypoint.shutting_down",
        "plugin.runtime.too_many_pipes",
        "services.cache.not_connected",
    }
    assert [s.id for s in catalog.find(domain="api", subdomain="process", status=429)] == [
        "api.process.too_many_requests",
        "api.process.too_many_logins_requests",
    ]
    assert len(catalog.find(class_name="PartialError")) == 4
    assert len(catalog.find(class_name="PartialError", version=2)) == 2
    assert catalog.find(domain="nope") == []
    codes = [spec.code for spec in catalog.all_specs()]
    assert codes == sorted(codes)


def test_format_fills_the_template_like_node() -> None:
    spec = catalog.get("services.storage.not_found")
    assert spec is not None
    assert spec.format("d1", "idx", "col") == 'Document "d1" not found in "idx":"col".'
    assert spec.format("d1") == 'Document "d1" not found in "%s":"%s".'
    overloaded = catalog.get("api.process.overloaded")
    assert overloaded is not None
    assert overloaded.format("extra") == overloaded.message + " extra"
    timeout = catalog.get("core.sandbox.timeout")
    assert timeout is not None and timeout.format(250) == (
        "Timeout. The sandbox did not respond within 250ms."
    )
    v1_only = catalog.get("services.storage.index_reserved")
    assert v1_only is not None and v1_only.format() == v1_only.description


def test_spec_is_frozen() -> None:
    spec = catalog.get("api.process.overloaded")
    assert spec is not None
    with pytest.raises(AttributeError):
        spec.status = 500  # type: ignore[misc]


# Rows copied by hand from the seed tables, so the check above does not rest only on the
# generator's own table parser.
HAND_COPIED = [
    (
        "core.fatal.unexpected_error",
        "0x00000001",
        "InternalError",
        500,
        1,
        "Caught an unexpected error. Please contact your support.",
    ),
    (
        "services.storage.incomplete_fetch",
        "0x01010008",
        "PartialError",
        206,
        1,
        "Couldn't retrieve all the requested documents",
    ),
    (
        "services.storage.index_reserved",
        "0x01010016",
        "BadRequestError",
        400,
        1,
        'Index names starting with a "%" are reserved and cannot be used',
    ),
    (
        "security.token.expired",
        "0x07010006",
        "UnauthorizedError",
        401,
        1,
        "The provided authentication token has expired",
    ),
    (
        "api.process.overloaded",
        "0x02020002",
        "ServiceUnavailableError",
        503,
        2,
        "The request has been discarded because the server is overloaded",
    ),
    (
        "api.process.too_many_requests",
        "0x02020008",
        "TooManyRequestsError",
        429,
        2,
        "The request has been refused because a rate limit has been exceeded for this user",
    ),
]


@pytest.mark.parametrize("row", HAND_COPIED, ids=lambda r: r[0])
def test_hand_copied_seed_rows(row: tuple[str, str, str, int, int, str]) -> None:
    error_id, hex_code, class_name, status, version, description = row
    spec = catalog.get(error_id, version=version)
    assert spec is not None
    assert (spec.hex, spec.class_name, spec.status, spec.description) == (
        hex_code,
        class_name,
        status,
        description,
    )


def test_seed_tables_row_counts_by_plain_text_search() -> None:
    for prefix, rows in (("001", 209), ("000", 19)):
        (seed,) = (DATA / "seeds").glob(f"{prefix}_*.txt")
        assert seed.read_text(encoding="utf-8").count("<br/><pre>0x") == rows
