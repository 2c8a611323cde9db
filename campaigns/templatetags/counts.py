"""Counts on pages, with their definitions (``campaigns/counts.py``) on hover:

{% term "sent" %}            the label, a link to its entry in the glossary, titled with the definition
{% count "sent" value %}     the number, marked ``data-count="sent"`` and titled with the definition
{% count_of "sent" numbers %}  the same for ``numbers.sent``
"""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils.html import format_html

from campaigns.counts import TERMS

register = template.Library()


@register.simple_tag
def term(name, label=""):
    found = TERMS[name]
    return format_html(
        '<a class="term" href="{}#{}" title="{}">{}</a>',
        reverse("stats:glossary"),
        name,
        found.definition,
        label or found.label,
    )


@register.simple_tag
def count(name, value):
    found = TERMS[name]
    if value is None:  # not known (a run that has not started)
        return format_html('<span class="muted" title="{}: not known yet">—</span>', found.label)
    return format_html(
        '<span data-count="{}" title="{}: {}">{}</span>', name, found.label, found.definition, intcomma(value)
    )


@register.simple_tag
def count_of(name, numbers):
    return count(name, getattr(numbers, name))
