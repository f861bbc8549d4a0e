"""Load the demo cast of SPEC: four institutions and a user for every role. Idempotent."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from access.demo import load_demo_access
from catalog.demo import load_demo_datasets
from consortium.lei import lei_with_check_digits
from consortium.models import ConsortiumRole, Institution, Membership
from surveys.demo import load_demo_survey

INSTITUTIONS = [
    # slug, name, kind, 18-character LEI prefix (made up, completed with real check digits)
    ("northbank", "Northbank", Institution.Kind.BANK, "5493000NORTHBANK0X"),
    ("harbor-mutual", "Harbor Mutual", Institution.Kind.INSURER, "5493000HARBORMUT0X"),
    ("quill-pay", "Quill Pay", Institution.Kind.FINTECH, "5493000QUILLPAY00X"),
    ("eastfield-savings", "Eastfield Savings", Institution.Kind.BANK, "5493000EASTFIELD0X"),
]

# username, first name, last name, institution slug or None, institution role, consortium roles
CAST = [
    ("nina", "Nina", "Novak", "northbank", Membership.Role.STAFF, []),
    ("sam", "Sam", "Sorensen", "northbank", Membership.Role.STEWARD, []),
    ("omar", "Omar", "Okafor", "harbor-mutual", Membership.Role.STAFF, []),
    ("hana", "Hana", "Hill", "harbor-mutual", Membership.Role.STEWARD, []),
    ("quinn", "Quinn", "Quarles", "quill-pay", Membership.Role.STAFF, []),
    ("erin", "Erin", "Ellis", "eastfield-savings", Membership.Role.STEWARD, []),
    ("mod", "Morgan", "Moderator", None, None, [ConsortiumRole.Role.MODERATOR]),
    ("maya", "Maya", "Manager", None, None, [ConsortiumRole.Role.MANAGER]),
    ("ada", "Ada", "Auditor", None, None, [ConsortiumRole.Role.AUDITOR]),
]


class Command(BaseCommand):
    help = "Load the demo institutions and users (password from DEMO_PASSWORD). Idempotent."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--quiet", action="store_true", help="Do not print the logins.")

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        if settings.BIZI_PRODUCTION:
            raise CommandError("Demo data is refused under production settings.")
        institutions = {}
        for slug, name, kind, base in INSTITUTIONS:
            institutions[slug], _ = Institution.objects.update_or_create(
                slug=slug, defaults={"name": name, "kind": kind, "lei": lei_with_check_digits(base)}
            )
        User = get_user_model()
        for username, first, last, slug, role, consortium_roles in CAST:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@demo.bizi.invalid",
                    "is_active": True,
                    # The moderator administers the consortium, the Django admin included.
                    "is_staff": username == "mod",
                    "is_superuser": username == "mod",
                },
            )
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
            if slug:
                Membership.objects.update_or_create(
                    user=user, defaults={"institution": institutions[slug], "role": role}
                )
            for consortium_role in consortium_roles:
                ConsortiumRole.objects.get_or_create(user=user, role=consortium_role)
        load_demo_survey()  # the effect survey with the paper's 100 answers (Table 2)
        # Storage writes files as well as rows, so the listings are published after the cast is
        # committed, each in its own transaction, like any publication.
        transaction.on_commit(load_demo_datasets)
        transaction.on_commit(load_demo_access)  # requests and grants on those listings
        if not options["quiet"]:
            self.stdout.write(f"Demo logins (password: {settings.DEMO_PASSWORD}):")
            for username, first, last, slug, role, consortium_roles in CAST:
                what = f"{role} at {slug}" if slug else ", ".join(consortium_roles)
                self.stdout.write(f"  {username:<6} {first} {last}: {what}")
