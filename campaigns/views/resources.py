"""Push resources: saved, named push contents, listed and edited on one page.

Everyone who may see campaigns sees the list; making, changing and deleting one needs
MANAGE_CAMPAIGNS (403 otherwise). The What step copies a resource into a variant
(``campaigns/views/what.py``, ``?resource=``), so a change here reaches no campaign.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from accounts import roles
from accounts.access import requires
from campaigns.actions.resources import do_delete_resource, do_save_resource
from campaigns.forms.resources import ResourceForm
from campaigns.models import PushResource

Channel = PushResource.Channel


@requires(roles.VIEW_CAMPAIGNS)
def resource_list(request):
    """The list and a form for a new resource (``?channel=mobile_push`` for a mobile one)."""
    params = request.POST if request.method == "POST" else request.GET
    channel = params.get("channel")
    resource = PushResource(channel=channel if channel in Channel.values else Channel.WEB_PUSH)
    return _edit(request, resource)


@requires(roles.VIEW_CAMPAIGNS)
def resource_edit(request, pk):
    return _edit(request, get_object_or_404(PushResource, pk=pk))


@requires(roles.MANAGE_CAMPAIGNS)
def resource_delete(request, pk):
    resource = get_object_or_404(PushResource, pk=pk)
    if request.method == "POST":
        do_delete_resource(resource, user=request.user)
        messages.info(request, f"Deleted the push resource “{resource.name}”.")
    return _see_other("campaigns:resources")


def _edit(request, resource):
    can_manage = request.user.has_perm(roles.MANAGE_CAMPAIGNS)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        form = ResourceForm(resource, request.POST)
        if not form.is_valid():
            return _page(request, resource, form, can_manage, status=422)
        created = resource.pk is None
        do_save_resource(resource, **form.values, user=request.user)
        messages.info(request, f"{'Saved' if created else 'Changed'} the push resource “{resource.name}”.")
        return _see_other("campaigns:resources")
    return _page(request, resource, ResourceForm(resource), can_manage)


def _page(request, resource, form, can_manage, *, status=200):
    context = {
        "resources": PushResource.objects.all(),
        "resource": resource,
        "form": form,
        "f": form.content,
        "can_manage": can_manage,
        "channels": Channel.choices,
    }
    return render(request, "campaigns/resources.html", context, status=status)


def _see_other(name, *args):
    response = redirect(name, *args)
    response.status_code = 303
    return response


urlpatterns = [
    path("resources/", resource_list, name="resources"),
    path("resources/<int:pk>/", resource_edit, name="resource"),
    path("resources/<int:pk>/delete/", resource_delete, name="resource_delete"),
]
