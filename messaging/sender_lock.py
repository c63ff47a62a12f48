"""One outbox sender at a time, by a lock the operating system or the database gives back
when its holder dies.

Why one: a crash repeats at most the message each sender had on the wire, so with one
sender a crash costs at most one duplicate. One SMTP connection also sends faster than
the mail server needs (hundreds of messages a second); priority still holds, since the
sender claims the most urgent rows first, group after group.

On PostgreSQL, a session-level advisory lock (released when the worker's connection
closes, also when it is killed); on SQLite, an exclusive `flock` on a file beside the
database (released when the process dies). An in-memory database has one process anyway.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterator

from django.db import connection

# An arbitrary constant naming this lock among PostgreSQL's advisory locks.
_ADVISORY_KEY = 20_180_2021


@contextlib.contextmanager
def single_sender() -> Iterator[bool]:
    """Yield True holding the sender's lock, or False at once if another sender holds it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_ADVISORY_KEY])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_KEY])
        return
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or name == ":memory:" or name.startswith("file:"):
        yield True
        return
    descriptor = os.open(f"{name}.sender-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
