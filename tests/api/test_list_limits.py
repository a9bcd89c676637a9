"""How many entries a list may hold: 500 by default, or as the operator sets; all or
nothing; and the limit holds under concurrent calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tests.helpers import (
    Api,
    Member,
    add_entries,
    assert_no_user_errors,
    assert_user_error,
    listed_patterns,
    user_error_codes,
)

SCOPES = ["ACCOUNT", "PERSONAL"]
LIST_STATE = """query($scope: NeverLogScope!) { neverLogList(scope: $scope) { scope count limit remaining } }"""


@pytest.fixture
async def small_api(make_api: Callable[..., Api]) -> AsyncIterator[Api]:
    """An API whose operator set the account-wide list to 3 entries and personal lists to 2."""
    client = make_api(account_list_limit=3, personal_list_limit=2)
    yield client
    await client.close()


def patterns(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i:03d}@x.com" for i in range(n)]


async def fill(api: Api, member: Member, scope: str, n: int) -> None:
    assert_no_user_errors(await add_entries(api, member, [",".join(patterns(n))], scope=scope))


async def list_state(api: Api, member: Member, scope: str) -> dict[str, object]:
    data = await api.data(LIST_STATE, {"scope": scope}, token=member.token)
    state: dict[str, object] = data["neverLogList"]
    return state


@pytest.mark.parametrize("scope", SCOPES)
async def test_a_new_list_is_empty_with_its_whole_limit_remaining(api: Api, scope: str) -> None:
    # given
    admin = await api.new_account()
    # when
    state = await list_state(api, admin, scope)
    # then
    assert state == {"scope": scope, "count": 0, "limit": 500, "remaining": 500}


@pytest.mark.parametrize("scope", SCOPES)
async def test_a_list_takes_entries_up_to_exactly_its_limit(api: Api, scope: str) -> None:
    # given
    admin = await api.new_account()
    await fill(api, admin, scope, 499)
    # when
    payload = await add_entries(api, admin, ["last@x.com"], scope=scope)
    # then
    assert_no_user_errors(payload)
    assert payload["list"] == {"scope": scope, "count": 500, "limit": 500, "remaining": 0}
    assert await list_state(api, admin, scope) == payload["list"]


@pytest.mark.parametrize("scope", SCOPES)
async def test_one_entry_past_the_limit_is_refused_and_says_by_how_much(
    api: Api, scope: str
) -> None:
    # given
    admin = await api.new_account()
    await fill(api, admin, scope, 500)
    # when
    payload = await add_entries(api, admin, ["one-too-many@x.com"], scope=scope)
    # then
    error = assert_user_error(payload, "LIMIT_EXCEEDED")
    assert "holds 500 of its 500 entries" in error["message"]
    assert "exceed its limit by 1" in error["message"]
    assert payload["list"] is None
    assert (await list_state(api, admin, scope))["count"] == 500
    assert "one-too-many@x.com" not in await listed_patterns(api, admin, scope=scope)


@pytest.mark.parametrize("scope", SCOPES)
async def test_a_call_that_would_pass_the_limit_saves_nothing(api: Api, scope: str) -> None:
    # given: 400 entries, and a call of 101 new ones and one already listed
    admin = await api.new_account()
    await fill(api, admin, scope, 400)
    # when
    payload = await add_entries(api, admin, [*patterns(101, "new"), patterns(1)[0]], scope=scope)
    # then
    error = assert_user_error(payload, "LIMIT_EXCEEDED")
    assert "holds 400 of its 500 entries" in error["message"]
    assert "exceed its limit by 1" in error["message"]
    assert (await list_state(api, admin, scope))["count"] == 400
    assert not any(p.startswith("new") for p in await listed_patterns(api, admin, scope=scope))


@pytest.mark.parametrize("scope", SCOPES)
async def test_patterns_already_listed_do_not_count_against_the_limit(api: Api, scope: str) -> None:
    # given
    admin = await api.new_account()
    await fill(api, admin, scope, 500)
    # when
    payload = await add_entries(api, admin, patterns(3), scope=scope)
    # then
    assert_no_user_errors(payload)
    assert payload["alreadyListed"] == patterns(3)
    assert payload["list"]["count"] == 500


@pytest.mark.parametrize(("scope", "limit"), [("ACCOUNT", 3), ("PERSONAL", 2)])
async def test_the_operator_sets_other_limits(small_api: Api, scope: str, limit: int) -> None:
    # given
    admin = await small_api.new_account()
    await fill(small_api, admin, scope, limit - 1)
    # when
    at_limit = await add_entries(small_api, admin, ["last@x.com"], scope=scope)
    past_limit = await add_entries(small_api, admin, ["more@x.com", "most@x.com"], scope=scope)
    # then
    assert_no_user_errors(at_limit)
    assert at_limit["list"] == {"scope": scope, "count": limit, "limit": limit, "remaining": 0}
    error = assert_user_error(past_limit, "LIMIT_EXCEEDED")
    assert f"holds {limit} of its {limit} entries" in error["message"]
    assert "exceed its limit by 2" in error["message"]
    assert (await list_state(small_api, admin, scope))["count"] == limit


async def test_the_account_shows_the_limits_the_operator_set(small_api: Api) -> None:
    # given
    admin = await small_api.new_account()
    # when
    data = await small_api.data(
        "{ viewer { account { accountListLimit personalListLimit } } }", token=admin.token
    )
    # then
    assert data["viewer"]["account"] == {"accountListLimit": 3, "personalListLimit": 2}


@pytest.mark.parametrize("scope", SCOPES)
async def test_concurrent_adds_that_together_pass_the_limit_are_served_one_at_a_time(
    small_api: Api, scope: str
) -> None:
    # given: five lists, each with one free place
    limit = 3 if scope == "ACCOUNT" else 2
    admins = [await small_api.new_account() for _ in range(5)]
    for admin in admins:
        await fill(small_api, admin, scope, limit - 1)
    # when: on every list, two callers want that place at once
    payloads = await asyncio.gather(
        *(
            add_entries(small_api, admin, [f"{who}@x.com"], scope=scope)
            for admin in admins
            for who in ("first", "second")
        )
    )
    # then
    for admin, first, second in zip(admins, payloads[::2], payloads[1::2], strict=True):
        codes = sorted([user_error_codes(first), user_error_codes(second)])
        assert codes == [[], ["LIMIT_EXCEEDED"]]
        winner = first if first["userErrors"] == [] else second
        listed = await listed_patterns(small_api, admin, scope=scope)
        assert len(listed) == limit
        assert winner["added"][0]["pattern"] in listed


async def test_many_concurrent_adds_never_take_a_list_past_its_limit(api: Api) -> None:
    # given: ten free places and five callers who want four each
    admin = await api.new_account()
    await fill(api, admin, "ACCOUNT", 490)
    # when
    payloads = await asyncio.gather(
        *(add_entries(api, admin, patterns(4, f"c{n}-"), scope="ACCOUNT") for n in range(5))
    )
    # then
    assert sorted(user_error_codes(p) for p in payloads) == [[], [], *[["LIMIT_EXCEEDED"]] * 3]
    assert (await list_state(api, admin, "ACCOUNT"))["count"] == 498


@pytest.mark.parametrize("scope", SCOPES)
async def test_concurrent_adds_of_one_pattern_make_one_entry(api: Api, scope: str) -> None:
    # given
    admin = await api.new_account()
    # when
    payloads = await asyncio.gather(
        *(add_entries(api, admin, ["Jane@Acme.com", "*@shared.com"], scope=scope) for _ in range(3))
    )
    # then
    for payload in payloads:
        assert_no_user_errors(payload)
    added = sorted(e["pattern"] for p in payloads for e in p["added"])
    assert added == ["*@shared.com", "jane@acme.com"]
    assert await listed_patterns(api, admin, scope=scope) == ["*@shared.com", "jane@acme.com"]


async def test_a_list_over_a_lowered_limit_keeps_its_entries_and_takes_no_more(
    api: Api, small_api: Api
) -> None:
    # given: a personal list of 4 entries, and then the operator lowers the limit to 2
    admin = await api.new_account()
    await fill(api, admin, "PERSONAL", 4)
    # when
    state = await list_state(small_api, admin, "PERSONAL")
    payload = await add_entries(small_api, admin, ["more@x.com"])
    # then
    assert state == {"scope": "PERSONAL", "count": 4, "limit": 2, "remaining": 0}
    error = assert_user_error(payload, "LIMIT_EXCEEDED")
    assert "holds 4 of its 2 entries" in error["message"]
    assert "exceed its limit by 3" in error["message"]
    assert await listed_patterns(small_api, admin) == patterns(4)
