"""A 403 in the log is one line: method, path, user id and reason.

Django logs a PermissionDenied through ``django.request`` with its traceback (a role
check that said no is not an error worth twenty lines), and a CSRF failure through
``django.security.csrf`` without saying who. Both go through
``django.utils.log.log_response``, which puts the response's ``status_code`` and the
``request`` on the record (documented for both loggers); this filter, on those two
loggers (settings.LOGGING), rewrites such a record in place before any handler sees it.
"""

import logging


def _escaped(text):
    # As log_response does: a path or reason with a line break stays on one line.
    return str(text).encode("unicode_escape").decode("ascii")


def _reason(record):
    if record.exc_info:
        return str(record.exc_info[1]) or "permission denied"
    if record.name == "django.security.csrf" and record.args:
        return record.args[0]  # log_response("Forbidden (%s): %s", reason, path) in CsrfViewMiddleware
    return "the view answered 403"  # a response, not an exception: the view said why to the client


class ForbiddenInOneLine(logging.Filter):
    def filter(self, record):
        request = getattr(record, "request", None)
        if getattr(record, "status_code", None) != 403 or request is None:
            return True
        if getattr(record, "forbidden_in_one_line", False):
            # Logging configured twice (django.setup() again in a process) leaves two of
            # these filters on the logger: the second must not rewrite the rewritten record.
            return True
        record.forbidden_in_one_line = True
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else "anonymous"
        record.msg = "Forbidden: %s %s user=%s reason=%s"
        record.args = (request.method, _escaped(request.path), user_id, _escaped(_reason(record)))
        record.exc_info = None
        record.exc_text = None
        return True
