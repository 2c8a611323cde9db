"""CSV export of each table on a campaign's stats page."""

import csv

from django.http import HttpResponse
from django.utils.text import slugify

from campaigns import counts as run_counts
from campaigns.models import Campaign
from stats import reports

TABLES = ("summary", "trend", "variants", "errors", "control")


def _number(value, places=2):
    return "" if value is None else f"{value:.{places}f}"


def rows(campaign, run, period, table):
    """The header and rows of ``table``, as the page shows them."""
    if table == "summary" and campaign.channel == Campaign.Channel.PERMISSION_REQUEST:
        # A permission request sends no message: its banner's counts, as its page shows them.
        yield from _prompt_rows(run_counts.prompt_counts(campaign))
    elif table == "summary":
        # The names of campaigns/counts.py, so a column means what the page's hover says.
        numbers = reports.totals(campaign, run)
        yield ["metric", "value"]
        for name in (*run_counts.RUN_COUNTS, "rendered", "viewed", "clicked"):
            value = getattr(numbers, name)
            yield [name, "" if value is None else value]
        if campaign.channel == Campaign.Channel.EXIT_INTENT:
            yield ["closed", numbers.closed]  # pop-ups dismissed, as the page shows for them
        if numbers.inbox_copies:  # App Inbox, as the page shows it beside "Amplified"
            yield from (["inbox_copies", numbers.inbox_copies], ["inbox_views", numbers.inbox_views])
            yield from (["inbox_boost", numbers.inbox_boosted], ["inbox_boost_percent", _number(numbers.inbox_boost)])
        yield ["ctr_percent", _number(numbers.ctr)]
        yield ["conversions", numbers.conversions]
        yield ["revenue", _number(numbers.revenue)]
    elif table == "trend":
        yield [f"{period}_starting", "sent", "rendered", "viewed", "clicked"]
        for point in reports.trend(campaign, run, period):
            yield [point.start.isoformat(), point.sent, point.rendered, point.viewed, point.clicked]
    elif table == "variants":
        yield ["variant", "winner", "sent", "rendered", "viewed", "clicked", "ctr_percent", "conversions", "revenue"]
        for row in reports.variants(campaign, run):
            n = row.numbers
            yield [
                row.label,
                "yes" if row.winner else "",
                n.sent,
                n.rendered,
                n.viewed,
                n.clicked,
                _number(n.ctr),
                n.conversions,
                _number(n.revenue),
            ]
    elif table == "errors":
        yield ["code", "kind", "status", "count", "meaning"]
        for row in reports.errors(campaign, run):
            kind = "technical" if row.technical else "not technical"
            yield [row.code, kind, row.status, row.count, row.meaning]
    elif table == "control":
        yield ["group", "profiles", "converted", "conversion_rate_percent", "revenue"]
        comparison = reports.control(campaign, run)
        if comparison:
            for name, group in (("targeted", comparison.targeted), ("control", comparison.control)):
                yield [name, group.profiles, group.converted, _number(group.rate), _number(group.revenue)]


def _prompt_rows(prompts):
    yield ["metric", "value"]
    for name in ("shown", "subscribed", "blocked", "later"):
        yield [f"prompt_{name}", getattr(prompts, name)]
    yield ["prompt_subscribe_rate_percent", _number(prompts.subscribe_rate)]
    yield ["prompt_block_rate_percent", _number(prompts.block_rate)]


def response(campaign, run, period, table):
    name = slugify(campaign.name) or f"campaign-{campaign.pk}"
    suffix = f"-run-{run.pk}" if run else ""
    answer = HttpResponse(content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{name}{suffix}-{table}.csv"'
    writer = csv.writer(answer)
    for row in rows(campaign, run, period, table):
        writer.writerow([_safe(cell) for cell in row])
    return answer


def _safe(cell):
    """Text starting like a formula is quoted, so a spreadsheet shows it instead of running it."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell
