"""`manage.py ledger_verify`: recompute the ledger and name the first thing that does not match."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger.verification import verify_ledger


class Command(BaseCommand):
    help = "Recompute every leaf, subtree, block hash chain and signature of the ledger."

    def add_arguments(self, parser):
        parser.add_argument("--no-record", action="store_true", help="Do not keep the result.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_ledger(record=not options["no_record"], triggered_by="command")
        summary = (
            f"{result.entries_checked} entries and {result.blocks_checked} blocks "
            f"in {result.seconds:.2f} s"
        )
        if not result.ok:
            raise CommandError(f"FAILED: {result.first_problem} (checked {summary})")
        self.stdout.write(f"OK: verified {summary}")
