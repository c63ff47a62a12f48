"""How a message reaches a person. Only e-mail today; an SMS gateway would be another
channel with the same `send_batch`, and the scheduling would not change."""

from dataclasses import dataclass, field
from typing import Protocol

from django.core.mail import EmailMultiAlternatives, get_connection


@dataclass(frozen=True)
class OutgoingMessage:
    to: str
    subject: str
    text: str
    html: str = ""
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


class Channel(Protocol):
    name: str

    def send_batch(self, messages: list[OutgoingMessage]) -> list[bool]:
        """Send each message; say which went out. Raise if the channel is unreachable."""


class EmailChannel:
    """E-mail over one SMTP connection per batch, not one per message."""

    name = "email"

    def send_batch(self, messages: list[OutgoingMessage]) -> list[bool]:
        if not messages:
            return []
        connection = get_connection(fail_silently=False)
        connection.open()  # raises if the server refuses: the caller retries the batch
        try:
            results = []
            for message in messages:
                email = EmailMultiAlternatives(
                    message.subject, message.text, to=[message.to], connection=connection
                )
                if message.html:
                    email.attach_alternative(message.html, "text/html")
                for name, content, mimetype in message.attachments:
                    email.attach(name, content, mimetype)
                try:
                    results.append(email.send() == 1)
                except OSError:  # this one failed (refused recipient, dropped line)
                    results.append(False)
            return results
        finally:
            connection.close()
