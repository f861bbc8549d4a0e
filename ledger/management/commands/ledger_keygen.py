"""`manage.py ledger_keygen`: create the log's signing key file if there is none."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from ledger.keys import log_signer, write_new_key


class Command(BaseCommand):
    help = "Create the ledger's Ed25519 signing key at LEDGER_SIGNING_KEY_FILE (never overwrites)."

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.LEDGER_SIGNING_KEY_FILE)
        if settings.LEDGER_SIGNING_KEY or path.exists():
            self.stdout.write("The ledger signing key exists already.")
        else:
            write_new_key(path, settings.LEDGER_ORIGIN)
            self.stdout.write(f"Wrote a new ledger signing key to {path}.")
        self.stdout.write(f"Verifier key: {log_signer().verifier().to_vkey()}")
