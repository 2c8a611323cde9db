from celery import shared_task

from segments.actions.imports import do_import_profiles


@shared_task(name="segments.tasks.import_profiles", ignore_result=True)
def import_profiles(import_id):
    """Import an uploaded CSV of profiles. Safe to run twice: the import resumes
    after the rows its row says are done (segments/actions/imports.py)."""
    do_import_profiles(import_id)
