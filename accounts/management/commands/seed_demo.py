from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Load demo data: the demo logins, then each app's demo.seed() in INSTALLED_APPS order. Safe to run twice."

    def handle(self, *args, **options):
        # Each app seeds its own data in its demo.py; looking them up by name (like
        # admin autodiscovery) keeps this low app from importing the higher ones.
        # Accounts goes first: other apps' demo data has owners.
        configs = sorted(apps.get_app_configs(), key=lambda config: config.name != "accounts")
        with transaction.atomic():
            for config in configs:
                if not config.name.startswith("django") and find_spec(f"{config.name}.demo"):
                    import_module(f"{config.name}.demo").seed(self.stdout)
