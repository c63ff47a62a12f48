"""The rooms and the direction of imports between them (DESIGN.md, "Architecture").

Interfaces (api, web, worker) import domain apps; domain apps import only the rooms below
them, and never an interface. Imports are read with `ast`, at any depth (an import inside a
function is an arrow too), so the rule holds for lazy imports as well.
"""

import ast
import importlib
import pathlib
from collections import defaultdict

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Each domain app and the domain apps it may import (besides itself).
DOMAIN = {
    "cohorts": set(),
    "certificates": {"cohorts"},
    "accounts": {"cohorts"},
    "reports": {"certificates", "cohorts"},
    "messaging": {"certificates", "cohorts"},
}
INTERFACES = {"api", "web", "worker"}
PROJECT = {*DOMAIN, *INTERFACES, "cycle2021"}


def imported_modules(source: str, module: str) -> set[str]:
    """Every project module `source` (the text of `module`) imports, at any depth."""
    found = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.add(name)
            # `from pkg import module` names a module too.
            found |= {f"{name}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in PROJECT}


def project_modules(root: pathlib.Path = ROOT) -> dict[str, pathlib.Path]:
    modules = {}
    for top in PROJECT:
        for path in (root / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def import_graph(root: pathlib.Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports (only names that are modules)."""
    modules = project_modules(root)
    graph = {}
    for name, path in modules.items():
        targets = imported_modules(path.read_text(encoding="utf-8"), name)
        graph[name] = {target for target in targets if target in modules} - {name}
    return graph


def backward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Arrows that break the rule, as 'importer -> imported' lines."""
    wrong = []
    for module, targets in graph.items():
        room = module.split(".")[0]
        for target in sorted(targets):
            other = target.split(".")[0]
            if room == other or room in INTERFACES or room == "cycle2021":
                continue
            if other in INTERFACES or other == "cycle2021" or other not in DOMAIN[room]:
                wrong.append(f"{module} -> {target}")
    return wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of modules importing each other (strongly connected components, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_domain_apps_import_only_the_rooms_below_them_and_no_interface():
    assert backward_imports(import_graph()) == []


def test_no_modules_import_each_other_in_a_circle():
    assert cycles(import_graph()) == []


def test_the_rule_table_has_no_circle_between_rooms():
    rooms = {room: set(below) for room, below in DOMAIN.items()}
    assert cycles(rooms) == []


@pytest.mark.parametrize(
    ("module", "line", "arrow"),
    [
        # A domain app reaching for the worker, as before the rooms were drawn.
        ("cohorts/services.py", "from worker.tasks import sweep_notices", "worker.tasks"),
        # Upward between domain apps: certificates is below reports.
        ("certificates/rules.py", "from reports import selectors", "reports.selectors"),
        # Hidden in a function: still an arrow.
        ("cohorts/models.py", "def f():\n    import api.views\n", "api.views"),
        # Siblings do not import each other either.
        ("accounts/invitations.py", "from messaging.notices import notices_due", "messaging"),
    ],
)
def test_the_check_fails_on_a_backward_import(tmp_path, module, line, arrow):
    """Copy the project, add one backward import, and see the check name it."""
    for path in project_modules().values():
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    edited = tmp_path / module
    edited.write_text(edited.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")
    wrong = backward_imports(import_graph(tmp_path))
    assert any(
        entry.startswith(module[:-3].replace("/", ".")) and arrow in entry for entry in wrong
    )
    # The same copy without the added line is clean: the failure is the added import's.
    edited.write_text((ROOT / module).read_text(encoding="utf-8"), encoding="utf-8")
    assert backward_imports(import_graph(tmp_path)) == []


def test_the_check_finds_a_circle_inside_one_room():
    graph = {"cohorts.services": {"cohorts.tasks"}, "cohorts.tasks": {"cohorts.services"}}
    assert cycles(graph) == [["cohorts.services", "cohorts.tasks"]]


def test_every_task_name_queued_by_a_service_is_registered():
    """Services queue tasks by name (cohorts.queue): a typo would only fail at run time."""
    from celery import current_app

    current_app.loader.import_default_modules()  # every app's tasks.py (autodiscovery)
    registered = set(current_app.tasks)
    queued = defaultdict(set)
    for name, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")).startswith("enqueue_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                queued[node.args[0].value].add(name)
    assert queued, "no task queued by name was found: the scan is broken"
    assert {name: sorted(where) for name, where in queued.items() if name not in registered} == {}


@pytest.mark.django_db
def test_the_old_task_names_forward_to_the_new_ones():
    """A message queued under a name from before the move still runs its task."""
    from celery import current_app

    from worker.tasks import RENAMED

    current_app.loader.import_default_modules()
    for old, new in RENAMED.items():
        assert f"worker.tasks.{old}" in current_app.tasks
        assert new in current_app.tasks
    # Queued under the old name (as Celery would deliver it), the work runs under the new one.
    # Inline, even when a broker is configured: nothing is left in the shared queue.
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        result = current_app.tasks["worker.tasks.sweep_account_emails"].apply()
    finally:
        current_app.conf.task_always_eager = eager
    assert result.get() == "accounts.tasks.sweep_account_emails"


def test_the_invitation_actions_extend_the_cohorts_admin_without_dropping_its_own():
    """accounts.admin re-registers the participants' and cohorts' pages with an invite
    action; every action cohorts.admin defines must still be offered."""
    from django.contrib import admin

    from cohorts import admin as cohorts_admin
    from cohorts.models import Cohort, Participant

    for model, base in (
        (Participant, cohorts_admin.ParticipantAdmin),
        (Cohort, cohorts_admin.CohortAdmin),
    ):
        registered = admin.site.get_model_admin(model)
        assert isinstance(registered, base)
        assert list(registered.actions or [])[0] == "invite"
        assert set(base.actions or []) <= set(registered.actions or [])


def test_email_tasks_go_to_their_own_queue_beside_the_default_one():
    from worker import celery_app
    from worker.celery import EMAIL_TASKS

    def queue_of(name: str) -> str:
        return celery_app.amqp.router.route({}, name)["queue"].name

    default = celery_app.conf.task_default_queue
    for name in EMAIL_TASKS:
        assert name in celery_app.tasks or importlib.import_module(name.rsplit(".", 1)[0])
        assert queue_of(name) == f"{default}.email", name
    assert queue_of("certificates.tasks.issue_cohort_certificates") == default
