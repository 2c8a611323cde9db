"""POST /api/v1/events writes its answer itself (segments/api.py): the same bytes, type and
headers as ninja's rendering of the EventsOut it documents."""

import json

import pytest
from django.test import RequestFactory

from config.api import api
from segments.actions.keys import create_api_key
from segments.api import EventsOut
from segments.models import Profile

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("known", [True, False])
def test_the_answer_is_what_ninja_renders_for_the_schema(client, known):
    _, full_key = create_api_key("shop", rate_per_minute=1000)
    if known:
        Profile.objects.create(identity="ada")
    events = [{"identity": "ada", "name": "Viewed"}, {"identity": "ada", "name": "Bought", "properties": {"n": 2}}]
    response = client.post(
        "/api/v1/events",
        json.dumps({"events": events}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {full_key}"},
    )

    assert response.status_code == 200
    answer = EventsOut(accepted=2, profiles_created=0 if known else 1)
    rendered = api.create_response(RequestFactory().get("/"), answer.model_dump(), status=200)
    assert response.content == rendered.content
    assert response["Content-Type"] == rendered["Content-Type"]
    assert response["X-RateLimit-Remaining"] == "999"


def test_the_openapi_document_still_describes_the_answer(client):
    schema = client.get("/api/openapi.json").json()
    answer = schema["paths"]["/api/v1/events"]["post"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EventsOut"}
    assert set(schema["components"]["schemas"]["EventsOut"]["properties"]) == {"accepted", "profiles_created"}
