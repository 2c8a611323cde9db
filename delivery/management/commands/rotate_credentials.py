from django.core.management.base import BaseCommand

from accounts.encryption import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential with the newest key of FIELD_ENCRYPTION_KEYS (the first), "
        "after which the older keys can be removed from the list."
    )

    def handle(self, *args, **options):
        count = rotate_all()
        self.stdout.write(self.style.SUCCESS(f"{count} secrets re-encrypted with the newest key."))
