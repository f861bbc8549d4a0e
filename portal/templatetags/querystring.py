"""Small template helpers for filter links that keep the rest of the query string."""

from urllib.parse import parse_qsl, urlencode

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key)


@register.simple_tag
def set_param(query_string: str, name: str, value: str) -> str:
    """The query string with `name` set to `value` (and back on page 1)."""
    params = [(k, v) for k, v in parse_qsl(query_string) if k not in (name, "page")]
    params.append((name, value))
    return urlencode(params)


@register.simple_tag
def remove_param(query_string: str, name: str) -> str:
    return urlencode([(k, v) for k, v in parse_qsl(query_string) if k not in (name, "page")])
