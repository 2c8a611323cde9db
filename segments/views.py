from django.shortcuts import render

from accounts import roles
from accounts.access import requires


@requires(roles.MANAGE_SEGMENTS)
def segment_list(request):
    return render(request, "segments/list.html")


@requires(roles.MANAGE_SEGMENTS)
def audience(request):
    return render(request, "segments/audience.html")
