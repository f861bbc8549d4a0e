"""`manage.py storage_rewrap`: re-wrap every wrapped key under a new master key.

One table holds them all (`storage.models.WrappedKey`): stored objects' data keys and grants'
pseudonymization keys. Only those rows change; shard data is not read or written. Each batch
commits on its own, so an interrupted run is finished by running the command again.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from storage.crypto import key_id
from storage.errors import StorageError
from storage.keys import keys_rewrap, master_key, parse_key, write_new_key_file
from storage.management.commands._progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Re-wrap every wrapped key (objects' data keys, grants' keys) under a new master key, "
        "taken from --new-key-file or STORAGE_NEW_MASTER_KEY. Then make it STORAGE_MASTER_KEY."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new-key-file", help="A file holding the new key (base64 or hex).")
        parser.add_argument(
            "--generate",
            action="store_true",
            help="Create --new-key-file with a random key (mode 0600) if it does not exist.",
        )

    def _new_key(self, options: dict) -> bytes:
        path = options.get("new_key_file")
        try:
            if path:
                file = Path(path)
                if not file.exists():
                    if not options["generate"]:
                        raise CommandError(f"{file} does not exist (add --generate to make it)")
                    write_new_key_file(file)
                    self.stdout.write(f"generated a new master key in {file}")
                return parse_key(file.read_text(), name=f"the key in {file}")
            if settings.STORAGE_NEW_MASTER_KEY:
                return parse_key(settings.STORAGE_NEW_MASTER_KEY, name="STORAGE_NEW_MASTER_KEY")
        except (ImproperlyConfigured, OSError) as exc:
            raise CommandError(str(exc)) from exc
        raise CommandError("Give the new key with --new-key-file or STORAGE_NEW_MASTER_KEY.")

    def handle(self, *args: Any, **options: Any) -> None:
        new_key = self._new_key(options)
        if key_id(new_key) == key_id(master_key()):
            raise CommandError("The new key is the current STORAGE_MASTER_KEY.")
        try:
            counts = keys_rewrap(
                new_key=new_key, progress=ProgressBar(self.stdout, "rewrap", "keys")
            )
        except StorageError as exc:
            raise CommandError(exc.message) from exc
        detail = ", ".join(f"{n} {purpose}" for purpose, n in sorted(counts.items()))
        self.stdout.write(
            f"OK: {sum(counts.values())} keys re-wrapped under master key {key_id(new_key)}"
            f"{f' ({detail})' if detail else ''}. Now set STORAGE_MASTER_KEY (or "
            "STORAGE_MASTER_KEY_FILE) to the new key, and keep the old one in "
            "STORAGE_OLD_MASTER_KEYS until every process runs with the new setting."
        )
