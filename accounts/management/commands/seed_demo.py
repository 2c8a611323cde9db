from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Load demo data: the demo logins, then each app's demo.seed() in INSTALLED_APPS order. Safe to run twice: "
        "what exists is kept and only what is missing is added."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--profiles",
            type=int,
            default=2_000,
            metavar="N",
            help="Demo profiles to have (demo-0000001 … N), with devices and events (default: 2,000).",
        )

    def handle(self, *args, **options):
        if options["profiles"] < 0:
            raise CommandError("--profiles must be 0 or more.")
        # Each app seeds its own data in its demo.py, as seed(stdout, **options) with
        # this command's options; looking them up by name (like admin autodiscovery)
        # keeps this low app from importing the higher ones.
        # Accounts goes first: other apps' demo data has owners.
        configs = sorted(apps.get_app_configs(), key=lambda config: config.name != "accounts")
        # call_command(stdout=…) arrives among the options; the apps get self.stdout.
        options = {name: value for name, value in options.items() if name not in ("stdout", "stderr")}
        with transaction.atomic():
            for config in configs:
                if not config.name.startswith("django") and find_spec(f"{config.name}.demo"):
                    import_module(f"{config.name}.demo").seed(self.stdout, **options)
