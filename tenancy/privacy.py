"""What a personal list shows to others: nothing of its patterns.

Personal lists are private from every other user, super admins included (PRODUCT.md, under
the permission table). Two answers could still show another user's patterns, and each goes
through one function here on its way out:

- a decision made for another sender (``visible_recipients``): a recipient matched by the
  sender's personal list keeps its outcome and ``matchedScope: PERSONAL``, but not the
  pattern, and its explanation says "an entry on Uma User's personal never-log list"; a
  LOGGED recipient whose capture a personal entry limited keeps its capture, scope and
  ``matchedAction`` ("an entry (metadata only) on Uma User's personal never-log list");
- the audit log (``tenancy.audit.visible_event``): a change to another user's personal
  list keeps its action, scope and actor, with no patterns and a summary that gives only
  the count.

The sender deciding for themself, and the owner reading their own changes, see everything.
Webhook endpoints do receive personal patterns: an integration is not a user.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from policy import Decision, Outcome, RecipientDecision, Scope
from policy.explanations import action_words, limited_by_entry, list_name
from tenancy.roles import Viewer

PERSONAL = Scope.PERSONAL


def needs_redaction(
    viewer: Viewer, recipients: Sequence[RecipientDecision], sender_id: uuid.UUID
) -> bool:
    """Whether the viewer may not see all of these decisions: they decided for another
    sender and that sender's personal list matched."""
    if sender_id is viewer.user_id:  # nearly always: the viewer's own (UUID's == is Python)
        return False
    return viewer.user_id != sender_id and any(r.matched_scope is PERSONAL for r in recipients)


def visible_recipients(
    viewer: Viewer, decision: Decision, sender_id: uuid.UUID, sender_name: str | None
) -> Sequence[RecipientDecision]:
    """The recipients of ``decision`` (made for ``sender_id``) as ``viewer`` may see them.

    Every decision that the API answers goes through this, whatever field it comes from
    (evaluate, a batch, a simulation's ``recorded`` and ``current``): it is applied by the
    one field that serves recipients."""
    recipients = decision.recipients
    if not needs_redaction(viewer, recipients, sender_id):
        return recipients
    whose = f"{sender_name}'s" if sender_name else "the sender's"
    return tuple(_redacted(r, whose) if r.matched_scope is PERSONAL else r for r in recipients)


def _redacted(recipient: RecipientDecision, whose: str) -> RecipientDecision:
    entry = f"an entry on {whose} personal never-log list"
    reply = _reply_original(recipient)
    address = recipient.address
    if recipient.outcome is Outcome.LOGGED:
        # A personal entry that limited the capture: its scope and action stay.
        action, capture = recipient.matched_action, recipient.capture
        assert action is not None and capture is not None, "a limiting entry has both"
        where = f"an entry ({action_words(action)}) on {whose} personal never-log list"
        why = limited_by_entry(
            address, capture, "", action, PERSONAL, _limited_original(recipient), entry_list=where
        )
    elif recipient.outcome is not Outcome.REPLY_TO_NEVER_LOG_THREAD:
        why = f"Not logged: {address} matches {entry}."
    elif reply is not None:
        why = (
            f"Not logged: {address} is on a reply to a thread with {reply}, which matches {entry}."
        )
    else:
        why = f"Not logged: {address} is on a reply to a thread that matches {entry}."
    return recipient._replace(matched_pattern=None, explanation=why)


def _limited_original(recipient: RecipientDecision) -> str | None:
    """The original recipient named by a capture limited through a reply's thread, where
    the sentence is exactly one the decision module writes (else None)."""
    capture, action = recipient.capture, recipient.matched_action
    if capture is None or action is None or recipient.matched_pattern is None:
        return None
    marker = "\x00"
    template = limited_by_entry(
        recipient.address, capture, recipient.matched_pattern, action, PERSONAL, marker
    )
    head, _, tail = template.partition(marker)
    text = recipient.explanation
    if not (text.startswith(head) and text.endswith(tail)) or len(text) <= len(head) + len(tail):
        return None
    original = text[len(head) : -len(tail)]
    return original if " " not in original else None


def _reply_original(recipient: RecipientDecision) -> str | None:
    """The original recipient named by a reply-to-thread explanation, where the sentence is
    exactly the one the decision module writes (else None: the original is left out)."""
    head = f"Not logged: {recipient.address} is on a reply to a thread with "
    tail = f", which matches {recipient.matched_pattern} on {list_name(PERSONAL)}."
    text = recipient.explanation
    if not (text.startswith(head) and text.endswith(tail)) or len(text) <= len(head) + len(tail):
        return None
    original = text[len(head) : -len(tail)]
    return original if " " not in original else None
