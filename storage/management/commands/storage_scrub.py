"""`manage.py storage_scrub`: check every node and shard now, repair what is wrong."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from storage.management.commands._progress import ProgressBar
from storage.repair import scrub


class Command(BaseCommand):
    help = (
        "Check every storage node, read every shard and check its SHA-256, rebuild missing or "
        "corrupt shards onto healthy nodes, and remove orphaned shard files."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-repair", action="store_true", help="Only find and record problems."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bar = ProgressBar(self.stdout, "scrub", "objects")
        report = scrub(repair=not options["no_repair"], progress=bar)
        if report.unrecoverable:
            raise CommandError(f"FAILED: {report.summary()}")
        self.stdout.write(f"OK: {report.summary()}")
