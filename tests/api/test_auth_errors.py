"""How a request's credentials are refused: no token is "sign in first" (HTTP 200, as a
GraphQL error); a token that is not valid is HTTP 401 with the Bearer challenge; two
Authorization headers are 400."""

from __future__ import annotations

import pytest

from tests.api.test_tokens import assert_invalid_token
from tests.helpers import Api, error_codes

VIEWER = "{ viewer { user { id } } }"


async def test_without_a_token_the_answer_says_sign_in_first(api: Api) -> None:
    # when
    response = await api.post(VIEWER)
    # then
    assert response.status_code == 200
    assert "www-authenticate" not in response.headers
    body = response.json()
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["message"].startswith("Sign in first")


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unknown_token_is_401_with_the_bearer_challenge(api: Api, method: str) -> None:
    # given: a token of the right shape for a real account, but never issued
    admin = await api.new_account()
    account_hex = admin.token.rsplit("_", 1)[1]
    unknown = f"nl_{'ab' * 24}_{account_hex}"
    headers = {"Authorization": f"Bearer {unknown}"}
    # when
    if method == "GET":
        response = await api.client.get("/graphql", params={"query": VIEWER}, headers=headers)
    else:
        response = await api.client.post("/graphql", json={"query": VIEWER}, headers=headers)
    # then
    assert_invalid_token(response)
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("second", ["same", "other user", "garbage"])
async def test_two_authorization_headers_are_400(api: Api, second: str) -> None:
    # given
    admin = await api.new_account()
    user = await api.add_member(admin)
    other = {"same": admin.token, "other user": user.token, "garbage": "nope"}[second]
    # when
    response = await api.client.post(
        "/graphql",
        json={"query": VIEWER},
        headers=[("Authorization", f"Bearer {admin.token}"), ("Authorization", f"Bearer {other}")],
    )
    # then: neither header is taken, nothing runs
    assert response.status_code == 400
    body = response.json()
    assert error_codes(body) == ["BAD_REQUEST"]
    assert "one Authorization header" in body["errors"][0]["message"]
    assert "data" not in body


async def test_health_and_readiness_ignore_the_authorization_header(api: Api) -> None:
    # when: a load balancer's probe carries a stale header
    headers = {"Authorization": "Bearer stale"}
    healthz = await api.client.get("/healthz", headers=headers)
    readyz = await api.client.get("/readyz", headers=headers)
    # then
    assert (healthz.status_code, readyz.status_code) == (200, 200)
