"""The effect survey: surveys, their ordered options, one answer per person, result snapshots.

Results are never computed while a page waits: a Celery task folds the answers into a
`ResultSnapshot` (surveys/services.py) and every page and API call reads that row.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from consortium.models import Institution


class Survey(models.Model):
    class Audience(models.TextChoices):
        ALL_MEMBERS = "members", "Everyone in every member institution"
        INSTITUTIONS = "institutions", "People of the chosen institutions only"

    title = models.CharField(max_length=120)
    question = models.TextField(max_length=500)
    opens_at = models.DateTimeField(help_text="From this moment people can answer (UTC).")
    closes_at = models.DateTimeField(help_text="From this moment answers are refused (UTC).")
    audience = models.CharField(
        max_length=16, choices=Audience.choices, default=Audience.ALL_MEMBERS
    )
    institutions = models.ManyToManyField(
        Institution,
        blank=True,
        related_name="+",
        help_text="Who may answer when the audience is “chosen institutions only”.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Bumped in the transaction of every change that alters the results (an answer given,
    # changed or deleted, an option edited). A snapshot built from an older version is stale.
    results_version = models.PositiveBigIntegerField(default=0, editable=False)
    # Set while a rebuild task is queued and has not started yet; answers that find it set
    # queue nothing, which is what turns a burst of answers into a few rebuilds.
    rebuild_queued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="survey_closes_after_it_opens"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.opens_at <= now < self.closes_at

    def status(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        if now < self.opens_at:
            return "upcoming"
        return "open" if now < self.closes_at else "closed"

    def is_for(self, institution_id: int | None) -> bool:
        """Whether people of this institution are in the survey's audience."""
        if institution_id is None:
            return False
        if self.audience == self.Audience.ALL_MEMBERS:
            return True
        # .all() is served from a prefetch when there is one (lists, the API): no query then.
        return any(i.pk == institution_id for i in self.institutions.all())


class Option(models.Model):
    """One answer people can choose, in the order shown. At most one takes free text."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200)
    takes_text = models.BooleanField(
        default=False, help_text="Like “other”: whoever chooses it must say what they mean."
    )

    class Meta:
        ordering = ["survey", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "position"], name="option_position_unique_in_survey"
            ),
            models.UniqueConstraint(
                fields=["survey"],
                condition=Q(takes_text=True),
                name="one_free_text_option_per_survey",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Answer(models.Model):
    """A person's one answer to a survey; answering again changes it while the survey is open.

    `institution` is the person's institution when they answered: the results count the answer
    there even if the person moves on later.
    """

    # No index of its own: the unique constraint and both indexes below start with it.
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="answers", db_index=False
    )
    # RESTRICT, not PROTECT: an answered option cannot be deleted on its own (the rule "an
    # option cannot be removed once answered", also in the admin), but deleting the whole
    # survey still takes its options and answers with it.
    option = models.ForeignKey(Option, on_delete=models.RESTRICT, related_name="answers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_answers"
    )
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=2000, blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "user"], name="one_answer_per_person_per_survey"
            )
        ]
        indexes = [
            # Covers the snapshot's one GROUP BY, so PostgreSQL can answer it from the index.
            models.Index(fields=["survey", "institution", "option"], name="answer_tally"),
            # The latest free-text answers, without sorting every answer of the survey.
            models.Index(
                fields=["survey", "-changed_at"], condition=~Q(text=""), name="answer_free_texts"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.option}"


class ResultSnapshot(models.Model):
    """The results of a survey as of `version`, built by a worker; what every page reads.

    `document` holds the Table 2 rows overall and per institution (small groups already
    hidden) and the latest free-text answers; `chart` the plotly figure for each group.
    """

    survey = models.OneToOneField(
        Survey, on_delete=models.CASCADE, primary_key=True, related_name="snapshot"
    )
    version = models.PositiveBigIntegerField(help_text="The survey's results_version it counts.")
    built_at = models.DateTimeField()
    build_seconds = models.FloatField()
    builds = models.PositiveIntegerField(default=1, help_text="How often it has been rebuilt.")
    total = models.PositiveIntegerField()
    document = models.JSONField()
    chart = models.JSONField()

    def __str__(self) -> str:
        return f"results of {self.survey_id} at version {self.version}"
