"""Putting messages in the outbox: what every room that has something to say calls.

A message is a `Notification` row, written in the same transaction as what it is about (the
certificate, the alert, the invitation...), so the two commit or roll back together: a
message can neither be lost after its subject committed nor sent about something that
rolled back. Once the transaction commits, a sender is woken up (`messaging.tasks.deliver`,
queued by name: sending sits in the messaging room, above this one). If that wake-up is
lost (Redis restarted, a worker died), the outbox sweep finds the row within a minute.
Sending is messaging.outbox's; what a message says is composed by the room it is about,
when it is sent: each registers a composer for its kinds here (`composes`), from its
AppConfig.ready, so the sender finds them without importing the rooms above it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from cohorts.models import Notification
from cohorts.queue import enqueue_on_commit

Kind = Notification.Kind

# Someone is waiting for these (a password reset, an invitation): they go before the rest.
URGENT = 1
NORMAL = 5


def outbox_put(messages: Iterable[Notification], *, deliver: bool = True) -> int:
    """Add the messages whose key is not in the outbox yet; return how many were added.

    A key already there (put before, whatever its status) is left as it is: putting the
    same message twice sends it once. With `deliver`, a sender runs after the commit.
    """
    messages = list(messages)
    if not messages:
        return 0
    keys = [m.key for m in messages]
    before = set(Notification.objects.filter(key__in=keys).values_list("key", flat=True))
    Notification.objects.bulk_create(messages, ignore_conflicts=True, batch_size=500)
    added = len(set(keys) - before)
    if deliver and added:
        deliver_on_commit()
    return added


def deliver_on_commit() -> None:
    """Wake a sender once the current transaction commits."""
    enqueue_on_commit("messaging.tasks.deliver")


# What a message says ----------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingMessage:
    to: str
    subject: str
    text: str
    html: str = ""
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Drop:
    """Not to be sent any more, and why (the session moved, the certificate was revoked)."""

    reason: str


Composed = OutgoingMessage | Drop
# Given some claimed rows of its kinds (their participant, user and session loaded), a
# composer says for each row's pk what to send, or that it is no longer needed.
Composer = Callable[[list[Notification]], dict[int, Composed]]
# Called in the transaction that records rows as sent (the certificate's `emailed_at`...).
SentHook = Callable[[list[Notification], datetime], None]

_COMPOSERS: dict[str, Composer] = {}
_ON_SENT: dict[str, SentHook] = {}


def composes(*kinds: str, on_sent: SentHook | None = None) -> Callable[[Composer], Composer]:
    """Register the decorated function as the composer of `kinds`."""

    def register(composer: Composer) -> Composer:
        for kind in kinds:
            _COMPOSERS[kind] = composer
            if on_sent is not None:
                _ON_SENT[kind] = on_sent
        return composer

    return register


def composer_for(kind: str) -> Composer:
    try:
        return _COMPOSERS[kind]
    except KeyError:
        raise LookupError(f"no composer registered for {kind!r} messages") from None


def sent_hook_for(kind: str) -> SentHook | None:
    return _ON_SENT.get(kind)
