"""`manage.py table1`: run the paper's Table 1 experiment on our code and print it beside theirs."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from storage.management.commands._progress import ProgressBar
from storage.models import Table1Run
from storage.table1 import DEFINITIONS, METRICS, Settings, run_experiment

TITLES = {
    "fault_tolerance": "Fault tolerance",
    "storage_saving": "Storage saving",
    "scalability": "Scalability",
}
HEADS = {"blockchain": "Blockchain", "ipfs": "IPFS", "zigzag": "Zigzag"}


class Command(BaseCommand):
    help = (
        "Measure fault tolerance, storage saving and scalability of full replication "
        "(“blockchain”), IPFS-style replicated blocks and the Zigzag code over N nodes with random "
        "node failures, and print them beside the paper's Table 1. The result is kept for the API."
    )

    def add_arguments(self, parser):
        defaults = Settings()
        parser.add_argument("--nodes", type=int, default=defaults.nodes)
        parser.add_argument("--trials", type=int, default=defaults.trials)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--objects", type=int, default=defaults.objects)
        parser.add_argument(
            "--max-object-bytes",
            type=int,
            default=defaults.max_object_bytes,
            help="Object sizes are drawn from 1 to this.",
        )
        parser.add_argument("--replicas", type=int, default=defaults.replicas, help="IPFS copies.")
        parser.add_argument("-k", type=int, default=defaults.k, help="Zigzag data shards.")
        parser.add_argument("-m", type=int, default=defaults.m, help="Zigzag parity shards.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        s = Settings(
            nodes=int(options["nodes"]),
            trials=int(options["trials"]),
            seed=int(options["seed"]),
            objects=int(options["objects"]),
            max_object_bytes=int(options["max_object_bytes"]),
            replicas=int(options["replicas"]),
            k=int(options["k"]),
            m=int(options["m"]),
        )
        if s.trials < 1 or s.objects < 1 or s.max_object_bytes < 1 or s.replicas < 1:
            raise CommandError(
                "--trials, --objects, --max-object-bytes and --replicas must be ≥ 1."
            )
        progress = None if options["json"] else ProgressBar(self.stderr, "table1", "trials")
        try:
            report = run_experiment(s, progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        Table1Run.objects.create(nodes=s.nodes, trials=s.trials, seed=s.seed, report=report)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(self.render(report))

    @staticmethod
    def render(report: dict) -> str:
        p = report["parameters"]
        lines = [
            f"Table 1, measured: {report['nodes']} nodes, {report['trials']} trials (seed "
            f"{report['seed']}), {report['objects']} objects of {report['object_bytes']:,} bytes; "
            f"IPFS r={p['ipfs_replicas']}, Zigzag k={p['zigzag_k']} m={p['zigzag_m']}",
            "",
            f"{'':<17}" + "".join(f"{HEADS[s['scheme']]:>20}" for s in report["schemes"]),
        ]
        for metric in METRICS:
            cells = "".join(
                f"{s['measured'][metric]:>11.1f} % ({s['paper'][metric]:>2} %)"
                for s in report["schemes"]
            )
            lines.append(f"{TITLES[metric]:<17}{cells}")
        lines += ["", "(the paper's Table 1 in brackets)", ""]
        for metric in METRICS:
            lines.append(f"{TITLES[metric]}: {DEFINITIONS[metric]}.")
        if report["differences"]:
            lines += ["", "Where ours differs from the paper's (by 5 points or more), and why:"]
            for d in report["differences"]:
                lines.append(
                    f"- {HEADS[d['scheme']]} {TITLES[d['metric']].lower()} "
                    f"{d['measured']:.1f} % vs {d['paper']} %: {d['why']}."
                )
        lines += ["", report["paper_note"]]
        return "\n".join(lines)
