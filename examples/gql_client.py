"""Sign in with a token, add patterns, and decide what an email logs, with the gql client.

NEVERLOG_URL=http://127.0.0.1:8000/graphql NEVERLOG_TOKEN=nl_... python examples/gql_client.py
"""

import os
import sys

from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportQueryError,
    TransportServerError,
)
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


def main(url: str, token: str) -> None:
    transport = HTTPXTransport(url=url, headers={"Authorization": f"Bearer {token}"})
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


if __name__ == "__main__":
    url, token = os.environ.get("NEVERLOG_URL"), os.environ.get("NEVERLOG_TOKEN")
    if not url or not token:
        sys.exit(
            "gql_client: set NEVERLOG_URL (e.g. http://127.0.0.1:8000/graphql) and NEVERLOG_TOKEN"
        )
    try:
        main(url, token)
    except TransportQueryError as refused:  # the API answered with an error
        code = (refused.errors or [{}])[0].get("extensions", {}).get("code")
        if code == "UNAUTHENTICATED":
            sys.exit(f"gql_client: the token is not accepted by {url}: check NEVERLOG_TOKEN")
        sys.exit(f"gql_client: {url} refused the request: {refused}")
    except TransportServerError as error:  # an HTTP status other than 200
        if error.code == 401:
            sys.exit(f"gql_client: the token is not accepted by {url}: check NEVERLOG_TOKEN")
        sys.exit(f"gql_client: {url} answered HTTP {error.code}: is it a Never Log /graphql URL?")
    except (TransportConnectionFailed, TransportError, OSError) as error:
        sys.exit(f"gql_client: cannot reach {url}: {error}")
