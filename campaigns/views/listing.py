"""The campaign list and a campaign's own page. (Placeholder: being built in this session.)"""

from django.shortcuts import get_object_or_404, render
from django.urls import path

from accounts import roles
from accounts.access import requires
from campaigns.models import Campaign


@requires(roles.VIEW_CAMPAIGNS)
def campaign_list(request):
    campaigns = Campaign.objects.filter(archived_at__isnull=True).select_related("owner")
    return render(
        request,
        "campaigns/list.html",
        {"campaigns": campaigns, "can_manage": request.user.has_perm(roles.MANAGE_CAMPAIGNS)},
    )


@requires(roles.VIEW_CAMPAIGNS)
def campaign_detail(request, pk):
    campaign = get_object_or_404(Campaign, pk=pk)
    return render(request, "campaigns/detail.html", {"campaign": campaign})


urlpatterns = [
    path("<int:pk>/", campaign_detail, name="detail"),
]
