"""Read the settings' environment variables, and remember which ones exist.

Every variable the application reads goes through this module, so `VARIABLES` is the
complete list: the README's table and the docker-compose test are checked against it.
"""

import os

VARIABLES: dict[str, str] = {}


def _read(name: str, default: str, doc: str) -> str:
    VARIABLES[name] = doc
    return os.environ.get(name, default)


def string(name: str, default: str = "", *, doc: str) -> str:
    return _read(name, default, doc).strip()


def boolean(name: str, default: bool = False, *, doc: str) -> bool:
    raw = _read(name, "1" if default else "0", doc).strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def integer(name: str, default: int, *, doc: str) -> int:
    raw = _read(name, str(default), doc).strip()
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from exc


def csv(name: str, default: str = "", *, doc: str) -> list[str]:
    return [item.strip() for item in _read(name, default, doc).split(",") if item.strip()]
