from tests.helpers import Api, assert_no_user_errors, assert_top_level_error


async def test_viewer_sees_their_account(api: Api) -> None:
    # given
    admin = await api.new_account("Acme")
    # when
    data = await api.data("{ viewer { user { id role } account { id name } } }", token=admin.token)
    # then
    assert data["viewer"]["user"] == {"id": admin.user_id, "role": "SUPER_ADMIN"}
    assert data["viewer"]["account"] == {"id": admin.account_id, "name": "Acme"}


async def test_without_a_token_only_typename_answers(api: Api) -> None:
    assert (await api.data("{ __typename }")) == {"__typename": "Query"}
    assert_top_level_error(await api.gql("{ viewer { user { id } } }"), "UNAUTHENTICATED")


async def test_add_entries_round_trip(api: Api) -> None:
    admin = await api.new_account()
    data = await api.data(
        """mutation { addNeverLogEntries(input: {scope: PERSONAL, patterns: ["Jane@Acme.com"]}) {
            added { pattern kind } list { count } userErrors { code } } }""",
        token=admin.token,
    )
    assert_no_user_errors(data["addNeverLogEntries"])
    assert data["addNeverLogEntries"]["added"] == [{"pattern": "jane@acme.com", "kind": "ADDRESS"}]
