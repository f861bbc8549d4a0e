"""The consortium: member institutions, their people, and the roles those people hold."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from consortium.lei import lei_problem


def validate_lei(value: str) -> None:
    problem = lei_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_lei")


class Institution(models.Model):
    class Kind(models.TextChoices):
        BANK = "bank", "Bank"
        INSURER = "insurer", "Insurer"
        FINTECH = "fintech", "Fintech"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    lei = models.CharField(
        "LEI", max_length=20, unique=True, validators=[validate_lei], help_text="ISO 17442 code"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "portal_institution"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person belongs to exactly one institution, as staff or as a steward.

    Stewards decide on requests for their institution's data and manage its members.
    """

    class Role(models.TextChoices):
        STAFF = "staff", "Staff"
        STEWARD = "steward", "Steward"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "portal_membership"
        ordering = ["institution__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.institution})"


class ConsortiumRole(models.Model):
    """A consortium-wide role, held independently of any institution membership."""

    class Role(models.TextChoices):
        MODERATOR = "moderator", "Moderator"
        MANAGER = "manager", "Manager"
        AUDITOR = "auditor", "Auditor"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consortium_roles"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "portal_consortiumrole"
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="one_row_per_consortium_role")
        ]
        ordering = ["role", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class ApiToken(models.Model):
    """An API token. Only the SHA-256 of the secret is stored: a leaked database leaks no token.

    The secret has 256 bits of entropy, so a plain (unsalted) digest is as strong as the secret;
    it also lets authentication find the row with one indexed lookup.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "portal_apitoken"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
