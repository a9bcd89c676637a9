"""Opaque global IDs: base64url of ``Type:uuid``. An ID of another account decodes fine
but finds nothing, exactly like an ID that never existed."""

from __future__ import annotations

import base64
import binascii
import uuid

import strawberry


def to_global_id(type_name: str, row_id: uuid.UUID) -> strawberry.ID:
    raw = f"{type_name}:{row_id}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def from_global_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """The type name and row id of a global ID, or None where it is not one of ours.

    Only the exact form that ``to_global_id`` hands out resolves: base64 and ``uuid.UUID``
    both accept other spellings of the same value (padding, upper case, braces,
    ``urn:uuid:``, no hyphens), and an ID that is not the one handed out must behave as
    one that does not exist, so the decoded value must encode back to the same text."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, row_id = raw.partition(":")
        decoded = type_name, uuid.UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if to_global_id(*decoded) == global_id else None


# No row has this id: an ID that is not one of ours, or names another type, finds nothing,
# exactly like an ID of another account.
NO_ROW = uuid.UUID(int=0)


def decode_id(global_id: str, type_name: str) -> uuid.UUID:
    """The row id where ``global_id`` names a ``type_name``; ``NO_ROW`` otherwise."""
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return NO_ROW
    return decoded[1]
