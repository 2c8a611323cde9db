from django.shortcuts import render

from accounts import roles
from accounts.access import requires


@requires(roles.VIEW_STATS)
def index(request):
    return render(request, "stats/index.html")
