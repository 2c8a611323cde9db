"""Permission checks for dashboard views.

Login itself is enforced for every view by LoginRequiredMiddleware (settings), so a
view only states what its role must be allowed to do.
"""

from django.contrib.auth.decorators import permission_required


def requires(permission):
    """View decorator: 403 unless the logged-in user holds ``permission`` (accounts.roles)."""
    return permission_required(permission, raise_exception=True)
