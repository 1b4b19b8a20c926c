"""Secrets made by the article's Node code keep working after import, then get re-hashed."""

from __future__ import annotations

from typing import Any

import pytest

from keyhive import Code, InvalidInput, KeyHive
from tests.conftest import load_vectors

RECORDS: list[dict[str, Any]] = load_vectors("seed_scrypt.json")


@pytest.mark.parametrize("record", RECORDS, ids=[r["client_id"][:8] for r in RECORDS])
def test_each_vector_verifies_and_a_wrong_secret_does_not(
    sqlite_hive: KeyHive, record: dict[str, Any]
) -> None:
    hive = sqlite_hive
    hive.create_client("imported", client_id=record["client_id"])
    secret = hive.import_secret(record["client_id"], record["stored"], scopes=["users:read"])
    assert secret.prefix is None
    assert hive.verify_pair(record["client_id"], record["secret"] + "x").code is Code.NOT_FOUND
    result = hive.verify_pair(record["client_id"], record["secret"], ["users:read"])
    assert result.valid and result.secret_id == secret.secret_id


def test_needs_rehash_upgrades_article_format_to_phc(sqlite_hive: KeyHive) -> None:
    record = RECORDS[0]
    hive = sqlite_hive
    hive.create_client("imported", client_id=record["client_id"])
    secret = hive.import_secret(record["client_id"], record["stored"])
    stored = hive.store.get_secret(secret.secret_id)
    assert stored is not None and stored.hash == record["stored"]
    assert hive.verify_pair(record["client_id"], record["secret"]).valid
    upgraded = hive.store.get_secret(secret.secret_id)
    assert upgraded is not None and upgraded.hash.startswith("$scrypt$")
    assert record["secret"] not in upgraded.hash
    fresh = KeyHive(hive.settings.database_url, settings=hive.settings, cache_size=0)
    assert fresh.verify_pair(record["client_id"], record["secret"]).valid
    assert fresh.verify_pair(record["client_id"], "wrong").code is Code.NOT_FOUND
    fresh.close()


def test_import_rejects_other_strings(hive: KeyHive) -> None:
    client = hive.create_client("c")
    for bad in ("", "abc.def", "$scrypt$ln=1", "A" * 128 + "." + "b" * 16, None):
        with pytest.raises(InvalidInput):
            hive.import_secret(client.client_id, bad)  # type: ignore[arg-type]


def test_unknown_client_pair_costs_a_hash_and_fails(hive: KeyHive) -> None:
    assert hive.verify_pair("nobody", RECORDS[0]["secret"]).code is Code.NOT_FOUND


def test_batch_import_is_all_or_nothing(sqlite_hive: KeyHive) -> None:
    from keyhive import BadRecord, ClientNotFound, SeedImport

    hive = sqlite_hive
    good = [
        SeedImport(r["client_id"], r["stored"], name=f"n{i}") for i, r in enumerate(RECORDS[:3])
    ]
    bad = SeedImport("c-bad", "not-a-hash")
    with pytest.raises(BadRecord) as caught:
        hive.import_secrets([*good, bad])
    assert caught.value.index == 3
    assert hive.list_clients() == [] and hive.audit() == []
    with pytest.raises(ClientNotFound):
        hive.import_secrets(good, create_clients=False)
    secrets = hive.import_secrets(good, actor="importer")
    assert [s.client_id for s in secrets] == [r.client_id for r in good]
    assert {c.name for c in hive.list_clients()} == {"n0", "n1", "n2"}
    actions = [e.action for e in hive.audit()]
    assert actions.count("client.create") == 3 and actions.count("secret.import") == 3
    assert hive.verify_pair(RECORDS[1]["client_id"], RECORDS[1]["secret"]).valid
