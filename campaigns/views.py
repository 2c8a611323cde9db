from django.shortcuts import render

from accounts import roles
from accounts.access import requires


@requires(roles.VIEW_CAMPAIGNS)
def campaign_list(request):
    return render(request, "campaigns/list.html", {"can_manage": request.user.has_perm(roles.MANAGE_CAMPAIGNS)})
