"""The vector files: tokens and article hashes made outside keyhive must read the same here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from keyhive.core.errors import MalformedToken, UnknownHashFormat, VerifyMismatch
from keyhive.core.hashing import SeedScryptHasher
from keyhive.core.tokens import CHECKSUM_LENGTH, checksum, parse_token
from tests.conftest import load_vectors

TOKENS: list[dict[str, Any]] = load_vectors("token_format.json")
SEEDS: list[dict[str, Any]] = load_vectors("seed_scrypt.json")
VALID = [v for v in TOKENS if v["valid"]]
INVALID = [v for v in TOKENS if not v["valid"]]

# The example printed in the article (seed/): generateKey() output and its stored hash.
ARTICLE_SECRET = "Jj0fmQUis7xKJ6oge4r1fN4em7xJ+hILrgubKlG6PLA="
ARTICLE_STORED = (
    "c10c7e79fc496144ee245d9dcbe52d9d3910c2a514af1cfe8afda9ea655815ef"
    "ed5bd2a793b31bf923fe47d212bab7896cd527c720849678077e34cdd6fec0a2.2f717b397644fdcc"
)
SHARED_VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
LOCAL_VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def test_vector_files_have_both_kinds() -> None:
    """Guards the parametrised tests below against silently running on nothing."""
    assert VALID
    assert INVALID
    assert len(SEEDS) >= 1


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["token"][:24])
def test_valid_token_vector_parses(vector: dict[str, Any]) -> None:
    parsed = parse_token(vector["token"])
    assert parsed.prefix == vector["prefix"]
    assert parsed.secret_id == vector["id"]
    assert parsed.text == vector["token"]
    assert vector["token"].endswith(vector["checksum"])
    assert checksum(vector["token"][:-CHECKSUM_LENGTH]) == vector["checksum"]


@pytest.mark.parametrize("vector", INVALID, ids=lambda v: v.get("why", v["token"][:24]))
def test_invalid_token_vector_is_rejected(vector: dict[str, Any]) -> None:
    with pytest.raises(MalformedToken) as caught:
        parse_token(vector["token"])
    assert vector["token"] not in str(caught.value)


@pytest.mark.parametrize("record", SEEDS, ids=lambda r: r["client_id"][:12])
def test_seed_record_verifies_with_article_parameters(record: dict[str, Any]) -> None:
    hasher = SeedScryptHasher()
    assert hasher.identifies(record["stored"])
    hasher.verify(record["stored"], record["secret"])
    with pytest.raises(VerifyMismatch):
        hasher.verify(record["stored"], record["secret"][:-2] + "A=")


def test_article_printed_example_verifies() -> None:
    hasher = SeedScryptHasher()
    hasher.verify(ARTICLE_STORED, ARTICLE_SECRET)
    with pytest.raises(VerifyMismatch):
        hasher.verify(ARTICLE_STORED, ARTICLE_SECRET.lower())


def test_seed_record_does_not_verify_another_records_secret() -> None:
    """Each stored string binds its own salt: secrets are not interchangeable."""
    first, second = SEEDS[0], SEEDS[1]
    with pytest.raises(VerifyMismatch):
        SeedScryptHasher().verify(first["stored"], second["secret"])


def test_seed_hash_round_trips_in_node_format() -> None:
    """New seed strings keep the article's shape (128 hex, dot, 16 hex) and verify."""
    hasher = SeedScryptHasher()
    stored = hasher.hash(ARTICLE_SECRET)
    assert re.fullmatch(r"[0-9a-f]{128}\.[0-9a-f]{16}", stored)
    assert stored != hasher.hash(ARTICLE_SECRET)  # a fresh salt each time
    hasher.verify(stored, ARTICLE_SECRET)
    assert not hasher.needs_rehash(stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        ARTICLE_STORED.upper(),
        ARTICLE_STORED[:-1],
        ARTICLE_STORED.replace(".", ":"),
        ARTICLE_STORED + "\n",
    ],
)
def test_seed_hasher_rejects_other_strings(stored: str) -> None:
    hasher = SeedScryptHasher()
    assert not hasher.identifies(stored)
    with pytest.raises(UnknownHashFormat):
        hasher.verify(stored, ARTICLE_SECRET)


@pytest.mark.skipif(not SHARED_VECTORS.is_dir(), reason="no ../shared/vectors checkout")
@pytest.mark.parametrize("name", ["token_format.json", "seed_scrypt.json"])
def test_committed_vectors_equal_shared_copy(name: str) -> None:
    shared = json.loads((SHARED_VECTORS / name).read_text())
    assert load_vectors(name) == shared


@pytest.mark.skipif(not SHARED_VECTORS.is_dir(), reason="no ../shared/vectors checkout")
def test_no_shared_vector_file_is_missing_locally() -> None:
    shared = {p.name for p in SHARED_VECTORS.glob("*.json")}
    local = {p.name for p in LOCAL_VECTORS.glob("*.json")}
    assert shared == local
