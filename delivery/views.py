from django.shortcuts import render

from delivery.status import system_status


def status(request):
    """The workers-and-beat panel; the dashboard refreshes it with htmx."""
    context = system_status()
    context["show_entries"] = request.GET.get("entries") == "1"
    return render(request, "delivery/_status.html", context)
