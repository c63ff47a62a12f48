"""The worker tests read the worker's log to know which tasks ran (tests.worker_fixtures)."""

from tests.worker_fixtures import _TASK_EVENT

TASK = "messaging.tasks.deliver[b01e6e61-59b4-47b2-99bf-43176c228786]"


def test_a_task_done_in_under_a_tenth_of_a_millisecond_counts_as_finished():
    # Celery prints such a duration in exponent notation; read as still running, it made
    # a worker test wait 60 s for an idle worker and fail (SQLite run, 3 December).
    log = (
        f"[..: INFO/MainProcess] Task {TASK} received\n"
        f"[..: INFO/ForkPoolWorker-3] Task {TASK} succeeded in 9.9186999250378e-05s: "
        "{'busy': True}\n"
    )
    events = [(m["event"].split(" ", 1)[0], m["result"]) for m in _TASK_EVENT.finditer(log)]
    assert events == [("received", None), ("succeeded", "{'busy': True}")]


def test_an_ordinary_duration_still_parses():
    line = f"Task {TASK} succeeded in 0.0046s: {{'due': 0, 'failed': 0}}"
    match = _TASK_EVENT.search(line)
    assert match is not None
    assert match["result"] == "{'due': 0, 'failed': 0}"
