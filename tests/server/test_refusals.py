"""The hot routes' refusals are encoded once per kind and read the same as built anew."""

from __future__ import annotations

import json

import pytest

from keyhive.core.model import Code, RateLimitStatus, Verification
from keyhive.core.ratelimit_fields import ratelimit_fields
from keyhive.server.auth import rejection
from keyhive.server.refusals import RefusalMemo, encode_problem

KINDS = [
    (Verification(Code.NOT_FOUND), ()),
    (Verification(Code.NOT_FOUND, retry_after=0.2), ()),
    (Verification(Code.NOT_FOUND, retry_after=59.5), ("articles:read",)),
    (Verification(Code.EXPIRED), ()),
    (Verification(Code.REVOKED), ("a", "b")),
    (Verification(Code.DISABLED), ()),
    (Verification(Code.INSUFFICIENT_SCOPE), ("users:write",)),
    (Verification(Code.RATE_LIMITED, retry_after=3.2), ()),
    (Verification(Code.USAGE_EXCEEDED), ()),
    (Verification(Code.IP_NOT_ALLOWED), ()),
]


def _limit(remaining: int) -> RateLimitStatus:
    return RateLimitStatus(
        allowed=False, limit=10, remaining=remaining, reset=0.0, reset_in=4.0, window=60
    )


@pytest.mark.parametrize(("result", "required"), KINDS)
def test_a_kept_refusal_is_the_one_built_anew(
    result: Verification, required: tuple[str, ...]
) -> None:
    memo = RefusalMemo()
    first = memo(result, required)
    assert first == encode_problem(rejection(result, required))
    assert memo(result, required) is first, "the second refusal of a kind is not rebuilt"
    status, headers, payload = first
    assert status == rejection(result, required).status
    assert dict(headers)[b"content-length"] == str(len(payload)).encode()
    assert json.loads(payload)["code"] == result.code.value


def test_refusals_differ_by_code_wait_and_scopes() -> None:
    memo = RefusalMemo()
    answers = {memo(result, required) for result, required in KINDS}
    assert len(answers) == len(KINDS)
    waits = [
        dict(memo(Verification(Code.NOT_FOUND, retry_after=s), ())[1]).get(b"retry-after")
        for s in (0.5, 1.5, 2.0)
    ]
    assert waits == [b"1", b"2", b"2"]


def test_live_rate_limit_fields_are_never_kept() -> None:
    memo = RefusalMemo()
    answers = [
        memo(
            Verification(Code.RATE_LIMITED, retry_after=4, limits=(_limit(n),)),
            (),
            with_limits=True,
        )
        for n in (0, 0)
    ]
    assert answers[0] is not answers[1]
    for header, value in ratelimit_fields((_limit(0),)).items():
        assert dict(answers[0][1])[header.lower().encode()] == value.encode()
    # Without with_limits (the /v1/verify caller) the limits are not part of the answer.
    plain = memo(Verification(Code.RATE_LIMITED, retry_after=4, limits=(_limit(0),)), ())
    assert plain == encode_problem(rejection(Verification(Code.RATE_LIMITED, retry_after=4), ()))


def test_scopes_chosen_by_clients_cannot_grow_it() -> None:
    memo = RefusalMemo(bound=8)
    for n in range(100):
        memo(Verification(Code.INSUFFICIENT_SCOPE), (f"s{n}",))
        assert len(memo._known) <= 8
    assert memo(Verification(Code.INSUFFICIENT_SCOPE), ("s99",)) == encode_problem(
        rejection(Verification(Code.INSUFFICIENT_SCOPE), ("s99",))
    )
