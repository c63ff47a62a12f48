"""docker-compose.yml and the Dockerfile agree with the code; checked without a Docker engine."""

import ast
import importlib
import json
import re
import shlex
from io import BytesIO, StringIO
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

import worker
from cycle2021 import env

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("web", "worker", "beat")
# What the operator must export before `docker compose up`; the rest takes the file's defaults.
OPERATOR_ENV = {"SECRET_KEY": "a-long-random-key-chosen-by-the-operator"}
HEALTHY = "service_healthy"
COMPLETED = "service_completed_successfully"


# --- Compose's variable interpolation (${VAR}, ${VAR:-default}, ${VAR:?error}, $$) ---------

_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_]\w*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.DOTALL)


class MissingVariableError(Exception):
    pass


def interpolate(node, environ):
    """Substitute variables in every string of a parsed compose file, as compose does."""
    if isinstance(node, dict):
        return {key: interpolate(value, environ) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, environ) for item in node]
    if not isinstance(node, str):
        return node

    def substitute(match):
        if match["escaped"]:
            return "$"
        if match["named"]:
            return environ.get(match["named"], "")
        parts = _BRACED.fullmatch(match["braced"])
        assert parts, f"compose cannot read {match[0]!r}"
        name, op, arg = parts["name"], parts["op"] or "", parts["arg"] or ""
        value = environ.get(name)
        missing = not value if op.startswith(":") else value is None
        if op.endswith("?") and missing:
            raise MissingVariableError(f"{name}: {arg}")
        if op.endswith("-") and missing:
            return arg
        if op.endswith("+"):
            return "" if missing else arg
        return value or ""

    return _VARIABLE.sub(substitute, node)


# --- Readers -------------------------------------------------------------------------------


def read_dockerfile():
    """Return the Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def exec_form(arguments):
    return json.loads(arguments) if arguments.startswith("[") else ["/bin/sh", "-c", arguments]


def argv(command):
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment(service):
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {name: None if value is None else str(value) for name, value in raw.items()}


def depends_on(service):
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def mounts(service):
    """Return {target path: source} for a service's volumes, short or long syntax."""
    result = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            result[volume["target"]] = volume.get("source")
        else:
            source, target = volume.split(":")[:2]
            result[target] = source
    return result


def option(args, *names):
    """Return the value of a command-line option (`--name value`, `--name=value`) or None."""
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def split_image(image):
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    return name, tag


def is_pinned(image):
    _, tag = split_image(image)
    return bool(re.match(r"v?\d+", tag))


def is_health_checked(service):
    check = service.get("healthcheck") or {}
    return bool(check.get("test")) and not check.get("disable") and check["test"] != ["NONE"]


def gunicorn_parts(command):
    """Return (target, bind) of a gunicorn command line, or None if it does not run gunicorn."""
    if "gunicorn" not in command:
        return None
    args = command[command.index("gunicorn") + 1 :]
    targets = [arg for arg in args if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", arg)]
    assert len(targets) == 1, f"expected one module:callable target in {command}"
    return targets[0], option(args, "--bind", "-b")


@pytest.fixture(scope="module")
def raw_compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose(raw_compose):
    return interpolate(raw_compose, OPERATOR_ENV)


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile():
    return read_dockerfile()


@pytest.fixture(scope="module")
def image_services(services):
    """The services built from this repository's Dockerfile (web, worker, beat, migrate...)."""
    return {name: service for name, service in services.items() if "build" in service}


@pytest.fixture(scope="module")
def web_command(services, dockerfile):
    """What the web container runs: the image's ENTRYPOINT, then its command or the CMD."""
    entrypoint = [exec_form(args) for keyword, args in dockerfile if keyword == "ENTRYPOINT"]
    cmd = [exec_form(args) for keyword, args in dockerfile if keyword == "CMD"]
    command = argv(services["web"].get("command")) or (cmd[-1] if cmd else [])
    return (entrypoint[-1] if entrypoint else []) + command


# --- Services, images, health --------------------------------------------------------------


def test_the_stack_has_its_six_services(services):
    assert {"postgres", "redis", "web", "worker", "beat", "mail"} <= set(services)


def test_every_image_is_pinned_to_a_version(services, dockerfile):
    images = [service["image"] for service in services.values() if "image" in service]
    images += [args.split()[0] for keyword, args in dockerfile if keyword == "FROM"]
    assert all("image" in service or "build" in service for service in services.values())
    assert [image for image in images if not is_pinned(image)] == []


def test_the_image_runs_the_python_the_lock_was_compiled_for(dockerfile):
    header = (ROOT / "requirements.lock").read_text(encoding="utf-8")[:500]
    python = re.search(r"with Python (\d+\.\d+)", header)[1]
    bases = [args.split()[0] for keyword, args in dockerfile if keyword == "FROM"]
    assert split_image(bases[-1]) == ("python", f"{python}-slim")


def test_every_service_is_health_checked_or_a_one_shot(services):
    conditions = [depends_on(service) for service in services.values()]
    one_shots = {name for deps in conditions for name, cond in deps.items() if cond == COMPLETED}
    for name in one_shots:
        assert services[name].get("restart", "no") == "no", f"{name} is a one-shot"
    unchecked = {name for name, service in services.items() if not is_health_checked(service)}
    assert unchecked <= one_shots


def test_dependencies_wait_for_a_health_check_or_a_completed_one_shot(services):
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on an unknown service {target}"
            if condition == HEALTHY:
                assert is_health_checked(services[target]), f"{target} has no healthcheck"
            else:
                assert condition == COMPLETED, f"{name} starts before {target} is ready"


def test_web_worker_and_beat_wait_for_healthy_postgres_and_redis(services):
    for name in APP_SERVICES:
        deps = depends_on(services[name])
        assert (deps.get("postgres"), deps.get("redis")) == (HEALTHY, HEALTHY), name


def test_image_healthchecks_use_python_since_the_slim_image_has_no_curl(image_services):
    for name, service in image_services.items():
        if is_health_checked(service):
            words = set(" ".join(argv(service["healthcheck"]["test"])).split())
            assert not words & {"curl", "wget"}, name


# --- Environment ---------------------------------------------------------------------------


def test_app_services_set_only_variables_the_settings_read(image_services):
    assert "SECRET_KEY" in env.VARIABLES, "settings were not imported through cycle2021.env"
    for name, service in image_services.items():
        assert set(environment(service)) - set(env.VARIABLES) == set(), name


def test_web_worker_and_beat_get_database_redis_and_secret_key(services):
    for name in APP_SERVICES:
        variables = environment(services[name])
        for variable in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
            assert variables.get(variable), f"{name} lacks {variable}"


def test_secret_key_comes_from_the_operator_and_has_no_default(raw_compose, services):
    for name in APP_SERVICES:
        assert environment(services[name])["SECRET_KEY"] == OPERATOR_ENV["SECRET_KEY"]
        with pytest.raises(MissingVariableError, match="SECRET_KEY"):
            interpolate(raw_compose["services"][name].get("environment"), {})


def test_database_url_points_at_the_postgres_service(services):
    postgres = environment(services["postgres"])
    assert split_image(services["postgres"]["image"])[0] == "postgres"
    for name in APP_SERVICES:
        database = dj_database_url.parse(environment(services[name])["DATABASE_URL"])
        assert database["ENGINE"] == "django.db.backends.postgresql"
        assert database["HOST"] == "postgres"
        assert database["PORT"] in (5432, "", None)  # the postgres image listens on 5432
        assert database["NAME"] == postgres["POSTGRES_DB"]
        assert database["USER"] == postgres["POSTGRES_USER"]
        assert database["PASSWORD"] == postgres["POSTGRES_PASSWORD"]


def test_redis_url_points_at_the_redis_service(services):
    assert split_image(services["redis"]["image"])[0] == "redis"
    for name in APP_SERVICES:
        url = urlsplit(environment(services[name])["REDIS_URL"])
        assert (url.scheme, url.hostname, url.port or 6379) == ("redis", "redis", 6379)


def test_redis_keeps_queued_tasks_across_restarts(services, compose):
    redis = services["redis"]
    assert option(argv(redis.get("command")), "--appendonly") == "yes"
    assert mounts(redis)["/data"] in compose["volumes"]  # /data: the redis image's data dir


def test_the_mail_catcher_listens_where_the_app_sends(services):
    mail = services["mail"]
    assert split_image(mail["image"])[0] == "axllent/mailpit"
    smtp_port = environment(mail).get("MP_SMTP_BIND_ADDR", ":1025").rsplit(":", 1)[1]
    for name in APP_SERVICES:
        variables = environment(services[name])
        assert (variables["EMAIL_HOST"], variables["EMAIL_PORT"]) == ("mail", smtp_port)


def test_worker_writes_media_where_web_reads_it(services, compose):
    sources = set()
    for name in ("web", "worker"):
        media_root = environment(services[name])["MEDIA_ROOT"]
        assert media_root, f"{name} lacks MEDIA_ROOT"
        sources.add(mounts(services[name]).get(media_root))
    assert len(sources) == 1, "web and worker must mount the same volume at MEDIA_ROOT"
    assert sources <= set(compose["volumes"])


def test_named_volumes_are_declared_at_top_level(services, compose):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source in mounts(service).values():
            if source and not source.startswith(("/", ".", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


# --- Commands ------------------------------------------------------------------------------


def test_web_runs_gunicorn_as_the_image_does(web_command, dockerfile):
    cmd = [exec_form(args) for keyword, args in dockerfile if keyword == "CMD"]
    assert [keyword for keyword, _ in dockerfile].count("CMD") == 1
    assert cmd[0][0] == "gunicorn", "exec form, so gunicorn is PID 1 and gets SIGTERM"
    assert gunicorn_parts(web_command) == gunicorn_parts(cmd[0])


# django_db: Django's request_started handler checks any connection earlier tests left open.
@pytest.mark.django_db
def test_gunicorn_serves_the_healthcheck_url_on_the_exposed_port(
    web_command, services, dockerfile, settings
):
    target, bind = gunicorn_parts(web_command)
    host, _, port = bind.rpartition(":")
    assert host == "0.0.0.0", "not reachable from other containers"  # noqa: S104
    exposed = {
        args.split("/")[0]
        for keyword, line in dockerfile
        if keyword == "EXPOSE"
        for args in line.split()
    }
    assert port in exposed
    assert port in {entry.split(":")[-1] for entry in services["web"].get("ports", [])}

    check = " ".join(argv(services["web"]["healthcheck"]["test"]))
    url = urlsplit(re.search(r"https?://[^'\"\s]+", check)[0])
    assert str(url.port) == port

    module, _, attribute = target.partition(":")
    application = getattr(importlib.import_module(module), attribute)
    # Django only answers hosts in ALLOWED_HOSTS: the healthcheck's must be in the stack's.
    settings.ALLOWED_HOSTS = environment(services["web"])["ALLOWED_HOSTS"].split(",")
    statuses = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": url.path,
        "QUERY_STRING": "",
        "SERVER_NAME": url.hostname,
        "SERVER_PORT": port,
        "HTTP_HOST": url.netloc,
        "wsgi.input": BytesIO(),
        "wsgi.errors": StringIO(),
        "wsgi.url_scheme": url.scheme,
    }
    b"".join(application(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    assert statuses == ["200 OK"]


@pytest.mark.django_db
def test_the_healthcheck_passes_behind_an_https_proxy_with_the_redirect_on(services, settings):
    """This stack serves plain HTTP (no redirect); deployed behind a proxy that terminates
    HTTPS (BEHIND_HTTPS_PROXY=1, SECURE_SSL_REDIRECT=1), the healthcheck still calls gunicorn
    over plain HTTP, and must not be redirected."""
    variables = environment(services["web"])
    assert (variables["BEHIND_HTTPS_PROXY"], variables["SECURE_SSL_REDIRECT"]) == ("0", "0")
    check = " ".join(argv(services["web"]["healthcheck"]["test"]))
    url = urlsplit(re.search(r"https?://[^'\"\s]+", check)[0])
    sent = re.search(r"headers=(\{[^}]*\})", check)
    headers = ast.literal_eval(sent[1]) if sent else {}
    settings.ALLOWED_HOSTS = variables["ALLOWED_HOSTS"].split(",")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    application = WSGIHandler()  # its middleware reads the settings above

    def status(extra_headers):
        statuses = []
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": url.path, "QUERY_STRING": "",
            "SERVER_NAME": url.hostname, "SERVER_PORT": str(url.port), "HTTP_HOST": url.netloc,
            "wsgi.input": BytesIO(), "wsgi.errors": StringIO(), "wsgi.url_scheme": url.scheme,
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in extra_headers.items()},
        }  # fmt: skip
        b"".join(application(environ, lambda s, h, exc_info=None: statuses.append(s)))
        return statuses[0]

    assert status({}).startswith("301")  # what it would get without saying HTTPS
    assert status(headers) == "200 OK"


def test_worker_and_beat_run_the_projects_celery_app(services, dockerfile):
    workdir = [args for keyword, args in dockerfile if keyword == "WORKDIR"][-1]
    for name, subcommand in (("worker", "worker"), ("beat", "beat")):
        command = argv(services[name]["command"])
        assert command[0] == "celery" and subcommand in command, name
        app = find_app(option(command, "-A", "--app"))
        assert isinstance(app, Celery) and app is worker.celery_app
    # The app user cannot write to the code directory, where beat's schedule would go.
    schedule = option(argv(services["beat"]["command"]), "--schedule", "-s")
    assert schedule and schedule.startswith("/") and not schedule.startswith(workdir)


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_installs_the_lock_file_with_hashes(dockerfile):
    keywords = [keyword for keyword, _ in dockerfile]
    installs = [i for i, (keyword, args) in enumerate(dockerfile) if "pip install" in args]
    assert len(installs) == 1 and keywords[installs[0]] == "RUN"
    args = shlex.split(dockerfile[installs[0]][1])
    assert {"--require-hashes", "--no-deps"} <= set(args)
    assert option(args, "-r", "--requirement") == "requirements.lock"
    copied_before = [args for keyword, args in dockerfile[: installs[0]] if keyword == "COPY"]
    assert any("requirements.lock" in args.split() for args in copied_before)


def test_dockerfile_compiles_translations_and_a_production_static_manifest(dockerfile):
    runs = [args for keyword, args in dockerfile if keyword == "RUN"]
    assert any("python tools/compile_messages.py" in run for run in runs)
    collect = [run for run in runs if "collectstatic" in run]
    assert len(collect) == 1
    # With DEBUG on, settings pick the storage without a manifest, and the running site
    # (DEBUG off) would fail on its first {% static %}: the build must run with DEBUG off.
    assert not re.search(r"\bDEBUG=(1|true|yes|on)\b", collect[0], re.IGNORECASE)
    key = re.search(r"\bSECRET_KEY=(\S+)", collect[0])
    assert key and not key[1].lower().startswith(("django-insecure", "change"))
    assert not any(keyword == "ENV" and "SECRET_KEY" in args for keyword, args in dockerfile)


def test_dockerfile_runs_as_a_user_who_owns_the_media_directory(dockerfile, services):
    keywords = [keyword for keyword, _ in dockerfile]
    user = [args for keyword, args in dockerfile if keyword == "USER"]
    assert user and user[-1].split(":")[0] not in {"root", "0"}
    assert keywords.index("USER") < keywords.index("CMD")
    # A named volume starts with the ownership of the image's directory at that path.
    media_root = environment(services["worker"])["MEDIA_ROOT"]
    runs = [args for keyword, args in dockerfile if keyword == "RUN"]
    assert any(f"chown {user[-1]}" in run and media_root in run for run in runs)


def test_dockerignore_keeps_local_data_and_secrets_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    # var/ holds the local SQLite database, with participants' personal data.
    assert {".git", ".venv", "var", ".env"} <= ignored


# --- Lock files ----------------------------------------------------------------------------


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", text, re.MULTILINE))


def _dev_requirements() -> set[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev = project["optional-dependencies"]["dev"]
    return {re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower() for spec in dev}


def _wanted_by(name: str) -> dict[str, str]:
    """Each locked package -> the text of its `# via` block (who asked for it)."""
    text = (ROOT / name).read_text(encoding="utf-8")
    blocks = re.split(r"^(?=[a-z0-9][a-z0-9._-]*==)", text, flags=re.MULTILINE)[1:]
    return {block.split("==", 1)[0]: block.split("# via", 1)[-1] for block in blocks}


def test_the_production_lock_holds_no_development_tool():
    """The image installs requirements.lock only: no test runner, linter or type checker.

    A development requirement may be there only because the application needs it anyway
    (PyYAML, which drf-spectacular needs to write the schema)."""
    wanted_by = _wanted_by("requirements.lock")
    assert "django" in wanted_by and "celery" in wanted_by
    tools = _dev_requirements() & set(wanted_by)
    assert {name for name in tools if "pyproject.toml" in wanted_by[name]} == set()
    assert tools <= {"pyyaml"}


def test_the_development_lock_is_the_production_lock_plus_the_tools():
    """Same versions of everything the application runs on, so tests run what ships."""
    production, development = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: development.get(name) for name in production} == production
    assert _dev_requirements() <= set(development)
