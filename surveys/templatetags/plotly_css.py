"""`{% plotly_css %}`: plotly.js's styles as a stylesheet, before plotly.min.js loads.

It links `surveys/plotly.css` under the ids plotly.js looks for before injecting an inline
<style> (surveys/plotlycss.py), so charts draw under a Content-Security-Policy that allows
styles from 'self' only.
"""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join

from surveys.plotlycss import page_ids

register = template.Library()


@register.simple_tag
def plotly_css() -> str:
    href = static("surveys/plotly.css")
    return format_html_join(
        "\n",
        '<link rel="stylesheet" id="{}" class="no-inline-styles" href="{}">',
        ((element_id, href) for element_id in page_ids()),
    ) or format_html("")
