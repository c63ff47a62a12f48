"""How a message reaches a person. Only e-mail today; an SMS gateway would be another
channel with the same `open()`, and the outbox would not change."""

import contextlib
from collections.abc import Iterator
from typing import Protocol

from django.core.mail import EmailMultiAlternatives, get_connection

from cohorts.outbox import OutgoingMessage

__all__ = ["Channel", "Connection", "EmailChannel", "OutgoingMessage", "email_message"]


class Connection(Protocol):
    def send(self, message: OutgoingMessage) -> None:
        """Hand one message over; return once the other end accepted it, else raise."""


class Channel(Protocol):
    name: str

    def open(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for many messages; raises if the channel is unreachable."""


def email_message(message: OutgoingMessage, connection=None) -> EmailMultiAlternatives:
    """The Django e-mail for `message` (text, optional HTML alternative, attachments)."""
    email = EmailMultiAlternatives(
        message.subject, message.text, to=[message.to], connection=connection
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    for name, content, mimetype in message.attachments:
        email.attach(name, content, mimetype)
    return email


class _SmtpConnection:
    def __init__(self, backend) -> None:
        self.backend = backend

    def send(self, message: OutgoingMessage) -> None:
        if not message.to:
            raise ValueError("no address")
        # Raises the SMTP server's refusal (smtplib.SMTP*Error with its code) or the
        # connection's failure; Django's backend returns 0 only for a message with no
        # recipient, excluded above.
        if email_message(message, self.backend).send() != 1:
            raise ValueError("no recipient")


class EmailChannel:
    """E-mail over one SMTP connection for a run of messages, not one per message."""

    name = "email"

    @contextlib.contextmanager
    def open(self) -> Iterator[Connection]:
        backend = get_connection(fail_silently=False)
        backend.open()  # raises if the server cannot be reached: nothing was tried
        try:
            yield _SmtpConnection(backend)
        finally:
            with contextlib.suppress(Exception):  # a dropped line cannot say goodbye
                backend.close()
