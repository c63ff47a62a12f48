"""Errors that name the line (or row) and field they are about.

A roster save and a file import are all-or-nothing: they check every line first and,
if any is wrong, raise one `LineErrors` listing all of them, and save nothing.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based: the roster's line, or the spreadsheet's row number
    field: str
    message: str


class LineErrors(Exception):
    def __init__(self, errors: list[LineError]):
        self.errors = sorted(errors, key=lambda e: (e.line, e.field))
        super().__init__(f"{len(self.errors)} error(s)")

    def as_list(self) -> list[dict]:
        return [{"line": e.line, "field": e.field, "message": str(e.message)} for e in self.errors]


class Conflict(ValidationError):
    """Someone else wrote the same thing at the same moment; nothing of this request was saved.

    A `ValidationError`, so every caller that shows a service's message shows this one too;
    the API answers it with 409 Conflict.
    """
