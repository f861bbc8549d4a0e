"""``manage.py witness``: the C2SP tlog-witness a member institution runs on its own machine.

Subcommands (the work is done in :mod:`ledger.witness_server`):

``witness keygen --name NAME --out KEYFILE``
    Write a new Ed25519 witness signer key (``PRIVATE+KEY+NAME+...``, mode
    0600, never overwriting) and print its verifier key, which the institution
    registers with the portal.

``witness serve --key KEYFILE --state DIR --log VKEY [--log VKEY ...] [--listen HOST:PORT]``
    Answer ``POST /add-checkpoint`` (https://c2sp.org/tlog-witness) for the
    logs whose verifier keys are given, keeping the last cosigned checkpoint of
    each in DIR. No database is used: the witness's whole state is DIR.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger import witness_server
from ledger.notes import NoteError


class Command(BaseCommand):
    help = "Run a C2SP tlog-witness (serve) or make its key (keygen). Uses no database."

    # The witness runs on a member's machine with no portal database at all.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{keygen,serve}")

        keygen = sub.add_parser("keygen", help="Write a new witness signer key and print its vkey.")
        keygen.add_argument(
            "--name",
            required=True,
            help="Key name, e.g. witness.northbank.example/1 (no spaces or '+').",
        )
        keygen.add_argument(
            "--out", required=True, help="Key file to create (refused if it exists)."
        )

        serve = sub.add_parser("serve", help="Serve POST /add-checkpoint over HTTP.")
        serve.add_argument("--key", required=True, help="Signer key file written by keygen.")
        serve.add_argument("--state", required=True, help="Directory for the witness state.")
        serve.add_argument(
            "--log",
            action="append",
            required=True,
            metavar="VKEY",
            help="Verifier key of a log to witness (its name is the log origin). Repeatable.",
        )
        serve.add_argument(
            "--listen",
            default="127.0.0.1:8470",
            help="HOST:PORT to listen on (default 127.0.0.1:8470; [::1]:PORT for IPv6).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "keygen":
            self._keygen(options["name"], options["out"])
        else:
            self._serve(options["key"], options["state"], options["log"], options["listen"])

    def _keygen(self, name: str, out: str) -> None:
        try:
            signer = witness_server.generate_key_file(name, out)
        except FileExistsError as exc:
            raise CommandError(f"{out} exists; refusing to overwrite a key") from exc
        except (NoteError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        vkey = signer.verifier().for_cosignatures().to_vkey()
        self.stderr.write(f"Wrote the signer key to {out} (mode 0600). Keep it secret.")
        self.stderr.write("Register this verifier key with the portal:")
        self.stdout.write(vkey)

    def _serve(self, key_path: str, state_dir: str, log_vkeys: list[str], listen: str) -> None:
        try:
            host, port = witness_server.parse_listen(listen)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            mode = os.stat(key_path).st_mode
            signer = witness_server.load_signer_key(key_path)
            service = witness_server.WitnessService(signer, state_dir, log_vkeys)
        except (NoteError, OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            self.stderr.write(f"warning: {key_path} is readable by others; chmod 600 it")

        # One line per request on stderr, unless the project configured logging already.
        log = logging.getLogger("ledger.witness")
        if not log.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.propagate = False

        try:
            server = witness_server.make_server(service, host, port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {listen}: {exc}") from exc
        bound_host, bound_port = server.socket.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.stdout.write(f"witness {service.vkey}")
        for origin in sorted(service.log_keys):
            self.stdout.write(f"witnessing log {origin}")
        self.stdout.write(f"listening on http://{shown}:{bound_port}/add-checkpoint")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopping")
        finally:
            server.server_close()
