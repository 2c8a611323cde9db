"""Start: pick the name, the channel and the type; makes the draft."""

from django.shortcuts import redirect, render

from accounts import roles
from accounts.access import requires
from campaigns.actions.drafts import do_create_draft
from campaigns.forms.start import StartForm
from campaigns.models import Campaign

PAST_KINDS = [Campaign.Kind.ONE_TIME, Campaign.Kind.MULTIPLE_DATES, Campaign.Kind.RECURRING]
LIVE_KINDS = [Campaign.Kind.SINGLE_ACTION, Campaign.Kind.INACTION, Campaign.Kind.DATE_PROPERTY]
KIND_HELP = {
    Campaign.Kind.ONE_TIME: "On a specific date and time.",
    Campaign.Kind.MULTIPLE_DATES: "On several dates and times you pick.",
    Campaign.Kind.RECURRING: "Daily, weekly on chosen days, or monthly.",
    Campaign.Kind.SINGLE_ACTION: "As soon as someone does something (an event).",
    Campaign.Kind.INACTION: "Someone does A and not B within a time, e.g. an abandoned cart.",
    Campaign.Kind.DATE_PROPERTY: "Before or after a date held in an event, e.g. a trip reminder.",
}
CHANNEL_HELP = {
    Campaign.Channel.WEB_PUSH: "Browser notifications (Chrome, Firefox, Edge, Safari, KaiOS).",
    Campaign.Channel.MOBILE_PUSH: "Android (FCM) and iOS (APNs) app notifications.",
    Campaign.Channel.EXIT_INTENT: "A pop-up on your site when a visitor is about to leave.",
}


@requires(roles.MANAGE_CAMPAIGNS)
def start(request):
    form = StartForm(
        request.POST or None, initial={"channel": Campaign.Channel.WEB_PUSH, "kind": Campaign.Kind.ONE_TIME}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            campaign = do_create_draft(owner=request.user, **form.cleaned_data)
            response = redirect("campaigns:who", campaign.pk)
            response.status_code = 303
            return response
        status = 422
    context = {
        "form": form,
        "channels": [(value, label, CHANNEL_HELP[value]) for value, label in Campaign.Channel.choices],
        "past_kinds": [(k.value, k.label, KIND_HELP[k]) for k in PAST_KINDS],
        "live_kinds": [(k.value, k.label, KIND_HELP[k]) for k in LIVE_KINDS],
    }
    return render(request, "campaigns/start.html", context, status=status)
