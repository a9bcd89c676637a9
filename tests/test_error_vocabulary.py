"""One error vocabulary: every code's string is written in policy/errors.py alone, every
exception of its table is answered over HTTP with its row's status, code, message and
headers (api/errors.py, the one place that does), and its docstring draws every error."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import orjson
import pytest

import policy.errors
from api.errors import GRAPHQL_RESPONSE, JSON, error_response, public, send_error
from policy.errors import (
    ANSWERS,
    Code,
    ErrorCode,
    InternalServerError,
    LimitExceeded,
    NoOperation,
    PayloadTooLarge,
    PublicError,
    RequestNotRun,
    answer_for,
)

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "schema", "tenancy", "persistence", "policy")
VOCABULARY = "policy/errors.py"
CODES = {c.value for c in Code} | {c.value for c in ErrorCode}
# The same word in another vocabulary: a recipient's outcome in a decision
# (policy/types.py Outcome.INVALID_ADDRESS), not an error's code.
OTHER_VOCABULARIES = {("policy/types.py", "INVALID_ADDRESS")}


def _literals(path: Path) -> set[tuple[str, int]]:
    return {
        (node.value, node.lineno)
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_a_code_is_written_in_policy_errors_alone(package: str) -> None:
    # given every module of the package but the vocabulary
    modules = [
        path
        for path in (ROOT / package).rglob("*.py")
        if path.relative_to(ROOT).as_posix() != VOCABULARY
    ]
    # when their string literals are read
    written = {
        f"{path.relative_to(ROOT).as_posix()}:{line} writes {value}"
        for path in modules
        for value, line in _literals(path)
        if value in CODES and (path.relative_to(ROOT).as_posix(), value) not in OTHER_VOCABULARIES
    }
    # then none of them is a code
    assert written == set()


def test_each_code_is_written_once_in_the_vocabulary() -> None:
    literals = [value for value, _ in _literals(ROOT / VOCABULARY) if value in CODES]
    assert sorted(literals) == sorted(CODES)


def _concrete(cls: type[PublicError]) -> list[type[PublicError]]:
    found = []
    for sub in cls.__subclasses__():
        if sub not in (RequestNotRun, LimitExceeded):
            found.append(sub)
        found.extend(_concrete(sub))
    return found


def test_every_public_error_has_its_row() -> None:
    assert set(_concrete(PublicError)) == set(ANSWERS)


def test_the_docstring_draws_every_error() -> None:
    drawn = policy.errors.__doc__ or ""
    errors = {
        name
        for name, value in vars(policy.errors).items()
        if inspect.isclass(value) and issubclass(value, Exception)
    }
    assert {name for name in errors if name not in drawn} == set()


def _instance(cls: type[PublicError]) -> PublicError:
    if issubclass(cls, LimitExceeded):
        return cls(ANSWERS[cls].message, limit=1, value=2)
    if cls is PayloadTooLarge:
        return PayloadTooLarge(1_048_576)
    if cls is NoOperation:
        return NoOperation(None)
    return cls()


def _headers(answer: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in answer}


@pytest.mark.parametrize("cls", list(ANSWERS), ids=lambda cls: cls.__name__)
def test_each_exception_is_answered_with_its_row(cls: type[PublicError]) -> None:
    # given the exception, as a floor raises it
    row = answer_for(cls)
    error = _instance(cls)
    # when the HTTP place answers it
    response = error_response(error, GRAPHQL_RESPONSE)
    # then with its row's status, code, message and headers
    body = orjson.loads(response.body)
    assert response.status_code == row.status
    assert body == {"errors": [{"message": error.message, "extensions": {**error.extensions}}]}
    assert body["errors"][0]["extensions"]["code"] == row.code.value
    if cls is not PayloadTooLarge and cls is not NoOperation:
        assert error.message == row.message  # said where the raiser gives none
    headers = {name.lower(): value for name, value in response.headers.items()}
    assert _headers(row.headers).items() <= headers.items()
    assert headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"


@pytest.mark.parametrize("cls", list(ANSWERS), ids=lambda cls: cls.__name__)
async def test_each_exception_is_sent_with_its_row_on_the_asgi_channel(
    cls: type[PublicError],
) -> None:
    row = answer_for(cls)
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    await send_error(send, _instance(cls), request_id="r1")

    start, body = sent
    assert start["status"] == row.status
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert _headers(row.headers).items() <= headers.items()
    error = orjson.loads(body["body"])["errors"][0]
    assert error["extensions"]["code"] == row.code.value
    assert error["extensions"]["requestId"] == "r1"


def test_a_request_refused_before_it_ran_is_200_with_plain_json() -> None:
    # GraphQL over HTTP: application/json answers 200, the newer media type its status.
    refused = NoOperation("Missing")
    assert error_response(refused, JSON).status_code == 200
    assert error_response(refused, GRAPHQL_RESPONSE).status_code == 400


def test_what_is_not_public_is_an_internal_server_error() -> None:
    assert isinstance(public(KeyError("secret"), "r1"), InternalServerError)
    assert isinstance(public(InternalServerError(), "r1"), InternalServerError)
    bad = NoOperation(None)
    assert public(bad, "r1") is bad
