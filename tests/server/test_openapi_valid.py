"""The OpenAPI document is valid against the OpenAPI 3.1 specification's schema."""

from __future__ import annotations

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from keyhive import KeyHive
from keyhive.server import create_app


def test_openapi_document_is_valid(hive: KeyHive) -> None:
    document = create_app(hive).openapi()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises OpenAPIValidationError when invalid


def test_the_validator_rejects_a_broken_document(hive: KeyHive) -> None:
    document = create_app(hive).openapi()
    document["paths"]["/v1/verify"]["post"]["responses"] = "not a mapping"
    try:
        validate(document)
    except OpenAPIValidationError:
        return
    raise AssertionError("a broken document passed validation")
