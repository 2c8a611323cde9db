"""Every dashboard page needs a login, and each role reaches only its pages."""

import re

import pytest
from django.contrib.auth.views import LoginView
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.roles import ADMIN, MARKETER, VIEWER

SAMPLE_ARGS = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000001", "path": "x"}
# Reached without a dashboard login, each for its reason: the login page itself,
# health checks, the JSON API (API keys), the web SDK (site key and Origin), signed
# click links in notifications (stats.links), the demo website that stands for a
# customer's site, and browsers' Content-Security-Policy reports. Anything else must ask to log in.
PUBLIC = ("/login/", "/admin/login/", "/healthz", "/api/", "/sdk/v1/", "/stats/r/", "/demo/site/", "/csp-report/")


def dashboard_urls(patterns=None, prefix=""):
    """Every URL of the project with sample arguments, except the Django admin
    (which has its own staff login) and the public ones."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if getattr(entry, "namespace", None) != "admin":
                yield from dashboard_urls(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            path = "/" + route
            for converter, sample in SAMPLE_ARGS.items():
                path = _fill(path, converter, sample)
            path = re.sub(r"<\w+>", "x", path)
            if not path.startswith(PUBLIC):
                yield path


def _fill(path, converter, sample):
    while f"<{converter}:" in path:
        start = path.index(f"<{converter}:")
        path = path[:start] + sample + path[path.index(">", start) + 1 :]
    return path


def public_views(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from public_views(entry.url_patterns, route)
        elif not getattr(entry.callback, "login_required", True):
            yield "/" + route


def test_only_the_known_public_areas_skip_the_login():
    assert [route for route in public_views() if not route.startswith(PUBLIC)] == []


def test_the_walk_finds_every_section():
    urls = set(dashboard_urls())
    assert {"/", "/campaigns/", "/segments/", "/audience/", "/stats/", "/settings/"} <= urls


@pytest.mark.django_db
@pytest.mark.parametrize("url", sorted(dashboard_urls()))
def test_an_anonymous_visitor_is_sent_to_login(client, url):
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/login/?next="), url


@pytest.mark.django_db
def test_the_login_page_is_public(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert response.resolver_match.func.view_class is LoginView


@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        (VIEWER, "/", 200),
        (VIEWER, "/campaigns/", 200),
        (VIEWER, "/stats/", 200),
        (VIEWER, "/segments/", 403),
        (VIEWER, "/audience/", 403),
        (VIEWER, "/settings/", 403),
        (MARKETER, "/", 200),
        (MARKETER, "/campaigns/", 200),
        (MARKETER, "/segments/", 200),
        (MARKETER, "/audience/", 200),
        (MARKETER, "/stats/", 200),
        (MARKETER, "/settings/", 403),
        (ADMIN, "/settings/", 200),
        (ADMIN, "/segments/", 200),
        (None, "/campaigns/", 403),
    ],
)
def test_each_role_reaches_only_its_pages(client_as, role, url, status):
    assert client_as(role).get(url).status_code == status


def test_a_refused_page_explains_itself(client_as):
    response = client_as(VIEWER).get("/settings/")
    assert b"Your role cannot open this page" in response.content


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (VIEWER, ["Campaigns", "Stats"], ["Segments", "Audience", "Settings"]),
        (MARKETER, ["Campaigns", "Segments", "Audience", "Stats"], ["Settings"]),
        (ADMIN, ["Campaigns", "Segments", "Audience", "Stats", "Settings"], []),
    ],
)
def test_navigation_shows_only_what_the_role_may_open(client_as, role, shown, hidden):
    labels = [item["label"] for item in client_as(role).get("/").context["nav_items"]]
    assert labels == shown
    assert not set(hidden) & set(labels)
