"""A dashboard table's cell as HTML, in Python: a table of a few hundred cells rendered
through an `{% include %}` per cell took tens of milliseconds of every dashboard view."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def dash_cell(cell) -> str:
    classes = "num" + (" withheld" if cell.suppressed else "") + (" target" if cell.target else "")
    if cell.suppressed:
        content = format_html(
            '<span aria-hidden="true">{}</span><span class="visually-hidden">{}</span>',
            cell.display,
            _("not shown"),
        )
    elif cell.target and not cell.display:
        content = format_html('<span class="visually-hidden">{}</span>', _("no target"))
    else:
        content = format_html("{}", cell.display)
    return format_html(
        '<td class="{}" data-measure="{}" data-value="{}"{}>{}</td>',
        classes,
        cell.measure,
        cell.raw,
        mark_safe(' data-suppressed="true"') if cell.suppressed else "",  # noqa: S308 (a constant)
        content,
    )
