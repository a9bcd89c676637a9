"""Sign in with a token, add patterns, and decide what an email logs, with the gql client.

NEVERLOG_URL=http://127.0.0.1:8000/graphql NEVERLOG_TOKEN=nl_... python examples/gql_client.py
"""

import os

from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXTransport

VIEWER = "query { viewer { user { email role } account { name } } }"
ADD = """mutation Add($input: AddNeverLogEntriesInput!) {
  addNeverLogEntries(input: $input) {
    added { pattern kind } alreadyListed
    list { count limit }
    userErrors { field message code } } }"""
EVALUATE = """query Evaluate($email: EmailInput!) {
  evaluateEmailLogging(email: $email) {
    loggedCount neverLogCount
    recipients { address field outcome matchedPattern matchedScope explanation } } }"""

transport = HTTPXTransport(
    url=os.environ["NEVERLOG_URL"],
    headers={"Authorization": f"Bearer {os.environ['NEVERLOG_TOKEN']}"},
)
# The client reads the schema first and checks every request against it before sending it.
with Client(transport=transport, fetch_schema_from_transport=True) as session:
    viewer = session.execute(GraphQLRequest(VIEWER))["viewer"]
    print(
        f"Signed in as {viewer['user']['email']} ({viewer['user']['role']}) of {viewer['account']['name']}"
    )

    added = session.execute(
        GraphQLRequest(
            ADD,
            variable_values={
                "input": {"scope": "ACCOUNT", "patterns": ["*@lawfirm.com; *@*.hospital.org"]}
            },
        )
    )["addNeverLogEntries"]
    if added["userErrors"]:
        raise SystemExit(f"Refused: {added['userErrors']}")
    print(
        f"Added {[e['pattern'] for e in added['added']]}, already listed {added['alreadyListed']}: "
        f"{added['list']['count']} of {added['list']['limit']} entries"
    )

    email = {
        "channel": "SALES_EXTENSION",
        "to": ["Jane Doe <jane@lawfirm.com>", "bob@customer.com"],
        "cc": ["dr.who@er.hospital.org"],
    }
    decision = session.execute(GraphQLRequest(EVALUATE, variable_values={"email": email}))
    for recipient in decision["evaluateEmailLogging"]["recipients"]:
        print(f"{recipient['address']}: {recipient['outcome']}: {recipient['explanation']}")
