"""Automatic persisted queries (Apollo's protocol): a client may send the SHA-256 of a query
text it sent before instead of the text; an unknown hash answers PERSISTED_QUERY_NOT_FOUND,
so that the client sends the text with it again; a hash that is not the text's is refused.
Plans on and off (NEVERLOG_COMPILED_OPERATIONS) answer alike."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import Api, error_codes

VIEWER = "query Who { viewer { user { email role } } }"


def persisted(text: str | None, digest: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        **extra,
    }
    if text is not None:
        body["query"] = text
    return body


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def _post(api: Api, body: dict[str, Any], token: str) -> Any:
    response = await api.client.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    return response


@pytest.mark.parametrize("compiled", [True, False])
async def test_a_hash_stands_for_a_text_once_sent_and_an_unknown_one_is_asked_for(
    make_api: Callable[..., Api], compiled: bool
) -> None:
    api = make_api(compiled_operations=compiled)
    try:
        admin = await api.new_account()
        digest = sha256(VIEWER)
        # given a hash this process has never seen the text of
        # when the client sends the hash alone
        unknown = await _post(api, persisted(None, digest), admin.token)
        # then it is asked for the text, in the words Apollo Client and urql look for
        assert unknown.status_code == 200
        assert error_codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        assert "data" not in unknown.json()
        # when it sends the text with the hash, and then the hash alone again
        registered = await _post(api, persisted(VIEWER, digest), admin.token)
        again = await _post(api, persisted(None, digest), admin.token)
        # then both answer the query, the second without parsing anything again
        expected = {"viewer": {"user": {"email": admin.email, "role": "SUPER_ADMIN"}}}
        assert registered.json()["data"] == expected
        assert again.json()["data"] == expected
        assert again.json()["extensions"]["cost"]["parsingCost"] == 0
        assert registered.json()["extensions"]["cost"]["parsingCost"] > 0
    finally:
        await api.close()


async def test_a_hash_that_is_not_the_texts_is_refused(api: Api) -> None:
    # given a text sent with another text's hash
    admin = await api.new_account()
    other = sha256("{ __typename }")
    # when it is sent, and then the other text's hash alone
    refused = await _post(api, persisted(VIEWER, other), admin.token)
    after = await _post(api, persisted(None, other), admin.token)
    # then it is refused, naming both hashes, and the hash was not taken for that text
    assert refused.status_code == 400
    assert error_codes(refused.json()) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert other in refused.json()["errors"][0]["message"]
    assert sha256(VIEWER) in refused.json()["errors"][0]["message"]
    assert error_codes(after.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    ("extension", "wrong"),
    [
        ({"version": 2, "sha256Hash": "0" * 64}, "version"),
        ({"version": 1, "sha256Hash": "abc"}, "'abc'"),
        ({"version": 1, "sha256Hash": "G" * 64}, "GGGG"),
        ("yes", "version"),
    ],
)
async def test_a_malformed_persisted_query_is_refused_saying_what_is_wrong(
    api: Api, extension: Any, wrong: str
) -> None:
    admin = await api.new_account()
    body = {"query": VIEWER, "extensions": {"persistedQuery": extension}}
    refused = await _post(api, body, admin.token)
    assert refused.status_code == 400
    assert error_codes(refused.json()) == ["BAD_REQUEST"]
    assert wrong in refused.json()["errors"][0]["message"]


async def test_a_persisted_query_over_get(api: Api) -> None:
    # given a query registered by POST
    admin = await api.new_account()
    digest = sha256(VIEWER)
    await _post(api, persisted(VIEWER, digest), admin.token)
    # when it is asked for by its hash over GET, as Apollo Client does for hashed queries
    response = await api.client.get(
        "/graphql",
        params={
            "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}}),
        },
        headers={"Authorization": f"Bearer {admin.token}", "Accept": "application/json"},
    )
    # then it answers
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["user"]["email"] == admin.email
