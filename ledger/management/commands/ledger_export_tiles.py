"""`manage.py ledger_export_tiles DIR`: the log as C2SP tlog-tiles static files."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger.tile_export import export_tiles


class Command(BaseCommand):
    help = (
        "Write the ledger up to its latest checkpoint as C2SP tlog-tiles files (checkpoint, "
        "tile/…, tile/entries/…, policy) that any web server can serve as a mirror."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int, total: int) -> None:
            if options["verbosity"] > 1 or done == total:
                self.stderr.write(f"\rentries {done:,} of {total:,}", ending="")

        try:
            summary = export_tiles(options["directory"], progress=progress)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write("")
        self.stdout.write(
            f"OK: tree size {summary.tree_size}: {summary.tiles} tiles and {summary.bundles} "
            f"entry bundles, {summary.bytes:,} bytes, in {options['directory']}"
        )
