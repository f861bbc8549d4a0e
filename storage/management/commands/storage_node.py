"""`manage.py storage_node`: list, add, check, mark up or down, and drain storage nodes."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from storage import repair, selectors, services
from storage.models import StorageNode


class Command(BaseCommand):
    help = "Manage storage nodes: list | add | check | up | down | drain."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Every node with its status and load.")
        add = sub.add_parser("add", help="Register a local folder or an S3 bucket.")
        add.add_argument("name")
        where = add.add_mutually_exclusive_group(required=True)
        where.add_argument("--path", help="A local folder (created if missing).")
        where.add_argument("--s3-bucket", help="An S3 bucket (created if missing).")
        add.add_argument("--endpoint-url", default="", help="S3-compatible endpoint.")
        add.add_argument("--region", default="")
        add.add_argument("--prefix", default="", help="Key prefix inside the bucket.")
        for action, text in [
            ("check", "Check that a node answers (marks it down if not)."),
            ("up", "Put a node back in service (it must answer)."),
            ("down", "Take a node out: its shards are rebuilt elsewhere."),
            ("drain", "Move every shard off a node, then leave it draining."),
        ]:
            p = sub.add_parser(action, help=text)
            p.add_argument("name")
            if action == "down":
                p.add_argument("--reason", default="marked down by an operator")

    def _node(self, name: str) -> StorageNode:
        node = StorageNode.objects.filter(name=name).first()
        if node is None:
            raise CommandError(f"There is no storage node called “{name}”.")
        return node

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                for row in selectors.nodes_with_health():
                    self.stdout.write(
                        f"{row['name']:<16} {row['kind']:<6} {row['status']:<9} "
                        f"{row['shards']:>8} shards {row['bad_shards']:>5} bad  {row['location']}"
                    )
            elif action == "add":
                node = services.node_register(
                    name=str(options["name"]),
                    kind=StorageNode.Kind.S3 if options["s3_bucket"] else StorageNode.Kind.LOCAL,
                    path=str(options["path"] or ""),
                    bucket=str(options["s3_bucket"] or ""),
                    endpoint_url=str(options["endpoint_url"]),
                    region=str(options["region"]),
                    prefix=str(options["prefix"]),
                )
                self.stdout.write(f"added {node.name}: {node.location}")
            elif action == "check":
                node = self._node(str(options["name"]))
                ok = services.node_check(node=node)
                self.stdout.write(f"{node.name}: {'answers' if ok else 'DOWN: ' + node.last_error}")
            elif action == "up":
                node = services.node_set_status(
                    node=self._node(str(options["name"])), status=StorageNode.Status.UP
                )
                self.stdout.write(f"{node.name} is up")
            elif action == "down":
                node = services.node_set_status(
                    node=self._node(str(options["name"])),
                    status=StorageNode.Status.DOWN,
                    reason=str(options["reason"]),
                )
                self.stdout.write(f"{node.name} is down; its shards will be rebuilt elsewhere")
            elif action == "drain":
                node = self._node(str(options["name"]))
                moved = repair.node_drain(node=node)
                self.stdout.write(f"{node.name}: {moved} shards moved off")
        except services.StorageError as exc:
            raise CommandError(exc.message) from exc
