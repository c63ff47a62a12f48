"""Make a new key to sign the digital credentials, and print the key set to configure."""

from django.conf import settings
from django.core.management.base import BaseCommand

from certificates.credentials import new_key_set


class Command(BaseCommand):
    help = (
        "Make a new signing key for the digital credentials and print the CREDENTIAL_KEYS "
        "value to put in the environment or secret store: the new key first (it signs), "
        "then the public parts of the keys in CREDENTIAL_KEYS today (they stay published, "
        "so the credentials they signed still verify). Nothing is written anywhere."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="Start a new set: leave the current keys out (their credentials will no "
            "longer verify).",
        )

    def handle(self, *args, fresh=False, **options):
        kid, key_set = new_key_set("" if fresh else settings.CREDENTIAL_KEYS)
        self.stderr.write(f"New signing key {kid}. Set CREDENTIAL_KEYS to the line below:")
        self.stdout.write(key_set)
