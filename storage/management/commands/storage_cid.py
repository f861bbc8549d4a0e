"""`manage.py storage_cid FILE`: the CID `ipfs add --cid-version 1` gives the file."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from storage.cid import CidBuilder, cid_of_file


class Command(BaseCommand):
    help = "Print the IPFS CIDv1 of a file (kubo defaults), as the portal computes it on upload."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file; - reads standard input.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = str(options["file"])
        if path == "-":
            builder = CidBuilder()
            while chunk := sys.stdin.buffer.read(1 << 20):
                builder.update(chunk)
            self.stdout.write(builder.finalize())
            return
        try:
            self.stdout.write(cid_of_file(path))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
