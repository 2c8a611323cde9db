from django.core.management.base import BaseCommand

from delivery import vapid


class Command(BaseCommand):
    help = "Generate the Web Push VAPID key pair (once) and print its public key."

    def add_arguments(self, parser):
        parser.add_argument("--subject", help="mailto: or https: contact sent to push services (default VAPID_SUBJECT)")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Replace the active pair. Every existing web subscriber must subscribe again.",
        )

    def handle(self, *args, subject=None, rotate=False, **options):
        key, created = vapid.generate(subject, rotate=rotate)
        if created:
            self.stdout.write(self.style.SUCCESS("Generated a new VAPID key pair."))
            if rotate:
                self.stdout.write(
                    self.style.WARNING("Earlier web subscriptions no longer work; sites must resubscribe.")
                )
        else:
            self.stdout.write("A VAPID key pair exists already (use --rotate to replace it).")
        self.stdout.write(f"Public key: {key.public_key}")
        self.stdout.write(f"Subject:    {key.subject}")
