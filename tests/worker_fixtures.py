"""A real Celery worker process and a real SMTP server, for integration tests and benchmarks.

The worker is `celery -A worker worker` started in its own process group, so a test can
SIGKILL the main process and its pool children at once, as a crashed machine would. Its
log goes to a file (a pipe nobody reads would fill up and stall it); the log tells when it
is ready and which tasks it has received and finished.
"""

import asyncio
import contextlib
import email
import email.policy
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# kombu's Redis transport keeps priority levels in extra lists named after the queue.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def wait_for(condition: Callable[[], T], *, timeout: float, what: str | Callable[[], str]) -> T:
    """Poll `condition` until it returns something true; fail saying `what` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = what() if callable(what) else what
            raise AssertionError(f"still waiting after {timeout:.0f} s for {detail}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """The DATABASE_URL under which another process opens the database Django uses here."""
    engine, name = settings_dict["ENGINE"], str(settings_dict["NAME"])
    if engine.endswith("sqlite3"):
        if name == ":memory:" or name.startswith("file:"):
            raise ValueError("an in-memory SQLite database cannot be shared with a worker")
        return "sqlite:///" + str(Path(name).resolve())
    if engine.endswith("postgresql"):
        user = quote(settings_dict.get("USER") or "", safe="")
        password = settings_dict.get("PASSWORD") or ""
        auth = f"{user}:{quote(password, safe='')}" if password else user
        host = settings_dict.get("HOST") or "localhost"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{auth}@{host}:{port}/{quote(name, safe='')}"
    raise ValueError(f"no DATABASE_URL for {engine}")


def _with_email(queue: str) -> tuple[str, str]:
    """A test's queue and the e-mail queue beside it (worker/celery.py routes e-mails there)."""
    return queue, f"{queue}.email"


def _lists(queue: str) -> list[str]:
    return [
        name
        for q in _with_email(queue)
        for name in (q, *(f"{q}{_PRIORITY_SEPARATOR}{p}" for p in _PRIORITY_STEPS))
    ]


def purge_queue(client, queue: str) -> int:
    """Delete what Redis holds for `queue` (and its e-mail queue) and nothing else: their
    lists, their bindings, and the messages of theirs a killed worker left unacknowledged.
    Return how many keys and entries went."""
    bindings = [f"_kombu.binding.{q}" for q in _with_email(queue)]
    removed = client.delete(*_lists(queue), *bindings)
    for tag, raw in client.hscan_iter("unacked"):
        try:
            _message, _exchange, routing_key = json.loads(raw)
        except (ValueError, TypeError):
            continue
        if routing_key in _with_email(queue):
            removed += client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    return removed


def queue_length(client, queue: str) -> int:
    """Messages waiting in `queue` and its e-mail queue."""
    return sum(client.llen(name) for name in _lists(queue))


# Processes -----------------------------------------------------------------------------


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the name may contain spaces and ")"


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc: psutil is not a dependency)."""
    parents = {
        int(p.name): _parent_of(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()
    }
    tree, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def resident_kib(pid: int) -> int | None:
    """Resident memory (VmRSS) of one process, in KiB; None once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, flags=re.MULTILINE)
    return int(match.group(1)) if match else None


# A run under 0.0001 s is logged in exponent notation ("succeeded in 9.9e-05s"): the
# duration's pattern takes it, or such a task would seem in flight for ever.
_TASK_EVENT = re.compile(
    r"Task (?P<name>[\w.]+)\[(?P<id>[0-9a-f-]{36})\] "
    r"(?P<event>received|succeeded in [\d.]+(?:e[+-]?\d+)?s: (?P<result>.*)"
    r"|retry|raised|ignored|rejected)"
)


@dataclass(frozen=True)
class TaskEvent:
    name: str
    id: str
    event: str  # received, succeeded, retry, raised, ignored, rejected
    result: str | None


class WorkerProcess:
    """`celery -A worker worker` on `queue`, prefork, in a process group of its own.

    `config` is extra Celery configuration given on the command line after `--`
    (`key=value`); the worker always sends the tasks it queues itself (e-mails, the sweep's
    issuance) to `queue` too (and e-mails to `queue`.email, which it also consumes), so they
    come back to it and to no other worker.
    """

    def __init__(
        self,
        *,
        queue: str,
        env: Mapping[str, str],
        log_path: Path,
        concurrency: int = 2,
        config: Iterable[str] = (),
        beat: bool = False,
    ):
        self.queue = queue
        self.log_path = log_path
        # With `beat`, the worker runs the beat's schedule too (-B), in its process group:
        # its sweeps resume interrupted work as in production, and die with it.
        schedule = log_path.with_suffix(".beat-schedule")
        command = [
            sys.executable, "-m", "celery", "-A", "worker", "worker",
            "--pool=prefork", f"--concurrency={concurrency}", "-Q", f"{queue},{queue}.email",
            "--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
            *(["-B", f"--schedule={schedule}"] if beat else []),
            "--", f"task_default_queue={queue}", *config,
        ]  # fmt: skip
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                command,
                cwd=ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the children
            )
        self.pid = self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_ready(self, timeout: float = 30) -> "WorkerProcess":
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the worker exited ({self.process.returncode}) before it was ready:\n"
                    + self.log_tail()
                )
            return " ready." in self.log()

        wait_for(ready, timeout=timeout, what=lambda: "the worker to be ready:\n" + self.log_tail())
        return self

    def pids(self) -> list[int]:
        return process_tree(self.pid) if self.process.poll() is None else []

    def resident_kib(self) -> dict[int, int]:
        """VmRSS of the main process and of each pool process, in KiB."""
        return {pid: kib for pid in self.pids() if (kib := resident_kib(pid)) is not None}

    def events(self) -> list[TaskEvent]:
        return [
            TaskEvent(m["name"], m["id"], m["event"].split(" ", 1)[0], m["result"])
            for m in _TASK_EVENT.finditer(self.log())
        ]

    def results(self, task_name: str) -> list[str]:
        """What each finished run of `task_name` returned, as the log prints it."""
        return [e.result for e in self.events() if e.name == task_name and e.event == "succeeded"]

    def in_flight(self) -> set[str]:
        """Ids of the tasks received and not finished (running, or waiting for a retry)."""
        last: dict[str, str] = {}
        for event in self.events():
            last[event.id] = event.event
        return {task_id for task_id, event in last.items() if event == "received"}

    def wait_idle(self, client, *, timeout: float = 60) -> None:
        """Wait until the queue is empty and the worker runs nothing, twice in a row."""

        def idle() -> bool:
            return queue_length(client, self.queue) == 0 and not self.in_flight()

        def twice() -> bool:
            if not idle():
                return False
            time.sleep(0.5)
            return idle()

        def stuck() -> str:
            # Every line about the tasks still in flight (received, retried, an error), not
            # only the log's last lines, which the beat's sweeps fill.
            ids = sorted(self.in_flight())
            about = [line for line in self.log().splitlines() if any(i in line for i in ids)]
            return (
                f"the worker to be idle; queue length {queue_length(client, self.queue)}, "
                f"in flight {ids}:\n" + "\n".join(about[-60:]) + "\n...\n" + self.log_tail()
            )

        wait_for(twice, timeout=timeout, what=stuck)

    def kill(self) -> None:
        """SIGKILL the whole worker at once: main process and pool processes."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        """Ask for a warm shutdown; SIGKILL whatever is left after `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # cold shutdown: nothing is left to finish
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self._signal_group(signal.SIGKILL)  # pool processes left behind, if any
        self.process.wait(timeout=10)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)


# SMTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    sender: str
    recipients: tuple[str, ...]
    message: email.message.EmailMessage


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps the messages it accepts.

    `hold()` keeps every message that arrives from then on waiting at the end of DATA,
    neither accepted nor refused; `release()` refuses those (451, try again later). A test
    can so kill a worker while its e-mails are in flight, knowing that none was accepted.
    """

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command
        self.port = free_port()
        self.deliveries: list[Delivery] = []
        # Addresses refused for good ("550 5.1.1"), and how many times each was tried.
        self.refuse: set[str] = set()
        self.refused: dict[str, int] = {}
        self.held = 0  # messages that have waited while held
        self._holding = threading.Event()
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self._controller.stop()

    def hold(self) -> None:
        with self._lock:  # a message already past the check below is recorded by now
            self._holding.set()

    def release(self) -> None:
        self._holding.clear()

    def recipients(self) -> list[str]:
        with self._lock:
            return sorted(r for d in self.deliveries for r in d.recipients)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            with self._lock:
                self.refused[address] = self.refused.get(address, 0) + 1
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook
        with self._lock:
            holding = self._holding.is_set()
            if holding:
                self.held += 1
            else:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                self.deliveries.append(
                    Delivery(envelope.mail_from, tuple(envelope.rcpt_tos), message)  # type: ignore[arg-type]
                )
        if not holding:
            return "250 2.0.0 OK"
        while self._holding.is_set():
            await asyncio.sleep(0.02)
        return "451 4.3.0 Held by the test; try again later"
