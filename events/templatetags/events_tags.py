"""Template filters of the events pages."""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def described(field: BoundField) -> SafeString:
    """Render a field's widget described by its help and its errors (ids as _field.html sets)."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    if field.errors:
        ids.append(f"{field.auto_id}_error")
    attrs: dict[str, str | bool] | None = {"aria-describedby": " ".join(ids)} if ids else None
    if field.errors:
        attrs = {**(attrs or {}), "aria-invalid": "true"}
    return SafeString(field.as_widget(attrs=attrs))
