"""Send a test from the What step: the step is saved, the chosen variant goes to the test
profiles' devices through the delivery engine's pipeline (here to the local Web Push
service), and the step lists the test with what became of it."""

import contextlib
import html
import re
import socket
import threading

import pytest
from django.urls import reverse

from campaigns.actions.drafts import do_create_draft
from campaigns.actions.test_sends import NO_DEVICE, TestSendError, do_send_test, recent_tests
from campaigns.models import Campaign
from delivery.actions import sending
from delivery.models import Message
from delivery.tasks import send_batch
from delivery.tests.engine import vapid_key, web_audience
from segments.models import Profile
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def queued(monkeypatch):
    """Dispatch ids whose send tasks were queued (on commit); the test runs them itself."""
    ids = []
    monkeypatch.setattr(send_batch, "delay", ids.append)
    return ids


@pytest.fixture
def campaign(make_user):
    return do_create_draft(
        name="Spring sale", channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME, owner=make_user()
    )


def make_test_profiles(service, count, name="Zoë Tester"):
    audience = web_audience(service, count, name=name)
    Profile.objects.filter(pk__in=[device.profile_id for device, _ in audience]).update(is_test=True)
    return audience


def ab_post(**more):
    data = {"message_type": "ab", "browsers": "all", "variants": ["0", "1"], "ab_split": "winner"}
    data |= {"ab_mode": "percent", "ab_test_size": "10", "ab_test_minutes": "120"}
    for key, title in ((0, "Hi {{ profile.first_name }}"), (1, "Variant two")):
        data |= {f"v{key}-title": title, f"v{key}-body": "Sale", f"v{key}-url": "https://shop.example/"}
    return data | more


def test_a_test_saves_the_step_and_sends_the_chosen_variant_to_the_test_profiles(
    marketer, campaign, service, queued, django_capture_on_commit_callbacks
):
    vapid_key()
    audience = make_test_profiles(service, 2)
    ids = [str(device.profile_id) for device, _ in audience]
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer.post(
            reverse("campaigns:what_test", args=[campaign.pk]), ab_post(test_variant="0", test_profiles=ids)
        )
    assert response.status_code == 303
    assert response["Location"] == reverse("campaigns:what", args=[campaign.pk])
    assert campaign.variants.count() == 2  # the step was saved first
    test = campaign.test_sends.get()
    assert (test.variant.name, test.status, test.dispatch.is_test) == ("A", "queued", True)
    assert sorted(test.profiles.values_list("pk", flat=True)) == sorted(int(i) for i in ids)
    assert queued == [test.dispatch_id]

    sending.send_batch(test.dispatch_id)  # what the queued task does

    for _device, subscriber in audience:
        [payload] = service.payloads(subscriber)
        assert payload["title"] == "Hi Zoë"
    assert set(Message.objects.filter(dispatch=test.dispatch).values_list("status", flat=True)) == {"sent"}
    page = marketer.get(reverse("campaigns:what", args=[campaign.pk])).content.decode()
    assert "2 sent · 0 failed" in page
    assert ">Sent</span>" in page


def test_an_htmx_test_answers_with_the_form_and_the_new_test_listed(marketer, campaign, service, queued):
    audience = make_test_profiles(service, 1)
    data = ab_post(test_variant="1", test_profiles=[str(audience[0][0].profile_id)])
    response = marketer.post(reverse("campaigns:what_test", args=[campaign.pk]), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith("<form")
    assert "Sending to 1 device." in page
    assert campaign.test_sends.get().variant.name == "B"


def test_an_invalid_step_sends_no_test_and_saves_nothing(marketer, campaign, service, queued):
    audience = make_test_profiles(service, 1)
    data = ab_post(test_profiles=[str(audience[0][0].profile_id)]) | {"v0-title": ""}
    response = marketer.post(reverse("campaigns:what_test", args=[campaign.pk]), data)
    assert response.status_code == 422
    assert not campaign.test_sends.exists()
    assert campaign.variants.count() == 1
    assert queued == []


def test_a_test_needs_a_test_profile(marketer, campaign, service):
    make_test_profiles(service, 1)
    [(device, _)] = web_audience(service, 1)  # not a test profile
    response = marketer.post(
        reverse("campaigns:what_test", args=[campaign.pk]), ab_post(test_profiles=[str(device.profile_id)])
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode().split('id="test_profiles-error">', 1)[1]
    assert not campaign.test_sends.exists()


def test_without_test_profiles_the_step_says_how_to_mark_one(marketer, campaign):
    page = marketer.get(reverse("campaigns:what", args=[campaign.pk])).content.decode()
    assert "No test profiles yet" in page
    assert "test profile" in page


def test_a_test_profile_without_a_reachable_device_is_recorded_as_not_sent(campaign, make_user):
    profile = Profile.objects.create(identity="nodevice", is_test=True)
    test = do_send_test(campaign, campaign.variants.get(), [profile], make_user())
    assert (test.status, test.note) == ("failed", NO_DEVICE)
    assert not Message.objects.filter(dispatch=test.dispatch).exists()
    [(listed, outcome, state)] = recent_tests(campaign, 5)
    assert (listed, outcome["sent"], state) == (test, 0, "Failed")


def test_the_action_refuses_profiles_that_are_not_test_profiles(campaign, make_user):
    profile = Profile.objects.create(identity="someone")
    with pytest.raises(TestSendError):
        do_send_test(campaign, campaign.variants.get(), [profile], make_user())
    assert not campaign.test_sends.exists()


def test_an_exit_intent_campaign_has_no_test_send(marketer, make_user):
    popup = do_create_draft(
        name="Wait", channel=Campaign.Channel.EXIT_INTENT, kind=Campaign.Kind.SINGLE_ACTION, owner=make_user()
    )
    Profile.objects.create(identity="tester", is_test=True)
    page = marketer.get(reverse("campaigns:what", args=[popup.pk])).content.decode()
    assert "has no test send" in page
    assert "Save and send a test" not in page


class Silent:
    """A listener that takes connections and never answers (Linked Content that hangs)."""

    def __enter__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.sock.accept()[0])

    def __exit__(self, *exc):
        self.sock.close()
        for conn in self.held:
            conn.close()


def recipients_listed(marketer, campaign):
    page = marketer.get(reverse("campaigns:what", args=[campaign.pk])).content.decode()
    listed = page.split('<ul class="test-recipients small">', 1)[1].split("</ul>", 1)[0]
    return [html.unescape(" ".join(re.sub(r"<[^>]+>", "", item).split())) for item in listed.split("</li>")[:-1]]


def test_a_test_whose_linked_content_does_not_answer_shows_each_recipient_failed_with_the_reason(
    marketer, campaign, service, queued, settings, make_user
):
    settings.LINKED_CONTENT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    vapid_key()
    ann = make_test_profiles(service, 1, name="Ann Tester")
    bob = make_test_profiles(service, 1, name="Bob Tester")
    variant = campaign.variants.get()
    with Silent() as silent:
        url = f"https://127.0.0.1:{silent.port}/deal?key=s3cret"
        variant.content = {"title": "Today: {{ linked.deal.name }}", "linked": [{"name": "deal", "url": url}]}
        variant.save()
        profiles = Profile.objects.filter(pk__in=[ann[0][0].profile_id, bob[0][0].profile_id])
        test = do_send_test(campaign, variant, profiles, make_user())
        sending.send_batch(test.dispatch_id)  # what the queued task does

    reason = "Not sent: Linked Content https://127.0.0.1/deal: timed out, no answer within 3 s."
    assert recipients_listed(marketer, campaign) == [
        f"Ann Tester · Chrome (web push): Failed — {reason}",
        f"Bob Tester · Chrome (web push): Failed — {reason}",
    ]
    assert not Message.objects.filter(error_detail__contains="s3cret").exists()  # the query may hold a key


def test_a_test_shows_who_got_it_and_whose_subscription_has_expired(marketer, campaign, service, queued, make_user):
    vapid_key()
    [(ann, _)] = make_test_profiles(service, 1, name="Ann Tester")
    [(bob, bobs_browser)] = make_test_profiles(service, 1, name="Bob Tester")
    service.answer(bobs_browser, 410)
    profiles = Profile.objects.filter(pk__in=[ann.profile_id, bob.profile_id])
    test = do_send_test(campaign, campaign.variants.get(), profiles, make_user())
    sending.send_batch(test.dispatch_id)

    assert recipients_listed(marketer, campaign) == [
        "Ann Tester · Chrome (web push): Sent — Accepted by the push service.",
        "Bob Tester · Chrome (web push): Failed — The device's push subscription has expired or the person"
        " unsubscribed (HTTP 410).",
    ]


def test_a_render_error_names_the_field_for_that_recipient(marketer, campaign, service, queued, make_user):
    vapid_key()
    [(ann, _)] = make_test_profiles(service, 1, name="Ann Tester")
    variant = campaign.variants.get()
    variant.content = {"title": "Hi {{ profile.name | nosuchfilter }}"}
    variant.save()
    test = do_send_test(campaign, variant, Profile.objects.filter(pk=ann.profile_id), make_user())
    sending.send_batch(test.dispatch_id)

    [listed] = recipients_listed(marketer, campaign)
    assert listed.startswith("Ann Tester · Chrome (web push): Failed — Not sent: render error in title: ")
    assert "nosuchfilter" in listed


def test_the_list_of_tests_asks_again_while_a_test_is_sending_and_stops_once_each_outcome_is_known(
    marketer, campaign, service, queued, make_user
):
    vapid_key()
    [(ann, _)] = make_test_profiles(service, 1, name="Ann Tester")
    test = do_send_test(campaign, campaign.variants.get(), Profile.objects.filter(pk=ann.profile_id), make_user())
    poll = reverse("campaigns:what_tests", args=[campaign.pk])

    page = marketer.get(reverse("campaigns:what", args=[campaign.pk])).content.decode()
    assert f'hx-get="{poll}" hx-trigger="every 2s"' in page
    assert "Ann Tester</strong> · Chrome (web push): Sending" in page

    sending.send_batch(test.dispatch_id)
    answer = marketer.get(poll).content.decode()
    assert answer.lstrip().startswith('<div id="test-list">')  # no hx-get: it stops asking
    assert "Ann Tester</strong> · Chrome (web push): Sent — Accepted by the push service." in answer
