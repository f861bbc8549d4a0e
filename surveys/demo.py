"""The paper's effect survey and its 100 answers, for `manage.py load_demo`.

Table 2 of the paper: lower the cost 45, improve efficiency 21, strengthen communication 26,
other 8. The answers come from 100 demo respondents spread over the four demo institutions,
each group large enough (20 or more) to pass the dashboard's small-group rule. Respondents are
the paper's questionnaires, not portal users: their accounts are inactive with unusable
passwords and no membership, so they never appear among the logins or an institution's people;
each answer records its institution itself. The demo cast (nina, omar…) has not answered, so
anyone can try answering and watch the dashboard change. Idempotent: a second run changes
nothing and leaves answers given through the portal alone.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from consortium.models import Institution
from portal import cache_versions
from surveys.models import Answer, Option, ResultSnapshot, Survey
from surveys.services import snapshot_rebuild

EFFECT_TITLE = "The effect of the establishment of the data sharing mechanism"
EFFECT_QUESTION = "What is the main effect of establishing the financial data sharing mechanism?"
OPTIONS = [
    ("Lower the cost", False),
    ("Improve efficiency", False),
    ("Strengthen communication", False),
    ("Other", True),
]
# Answers per institution, in the order of OPTIONS. Each column adds up to the paper's figure.
SPREAD = {
    "northbank": (14, 6, 8, 2),
    "harbor-mutual": (12, 6, 8, 2),
    "quill-pay": (10, 5, 5, 2),
    "eastfield-savings": (9, 4, 5, 2),
}
TABLE_2 = (45, 21, 26, 8)
# The paper's words for "other": breaking barriers within the organization, risk early warning.
OTHER_TEXTS = [
    "Breaks down the barriers between departments inside the organization.",
    "Strengthens the early warning of risk across institutions.",
    "Fewer silos between our own business lines.",
    "Earlier warning of credit risk shared by other members.",
    "It breaks internal barriers that slowed every project.",
    "A common early-warning mechanism for fraud.",
    "Trust in the data without calling the other bank first.",
    "Regulators can see the same trail we do.",
]


def _respondent(slug: str, n: int) -> str:
    return f"respondent-{slug}-{n:02d}"


@transaction.atomic
def load_demo_survey() -> Survey:
    """Create or complete the effect survey with the paper's answers; returns it."""
    assert tuple(map(sum, zip(*SPREAD.values(), strict=True))) == TABLE_2
    now = timezone.now()
    institutions = {i.slug: i for i in Institution.objects.filter(slug__in=SPREAD)}
    survey = Survey.objects.filter(title=EFFECT_TITLE).order_by("pk").first()
    if survey is None:
        survey = Survey.objects.create(
            title=EFFECT_TITLE,
            question=EFFECT_QUESTION,
            opens_at=now - timedelta(days=30),
            closes_at=now + timedelta(days=365),
        )
        for position, (label, takes_text) in enumerate(OPTIONS, start=1):
            Option.objects.create(
                survey=survey, position=position, label=label, takes_text=takes_text
            )
    elif survey.closes_at < now + timedelta(days=30):
        # A demo that has run for a while stays open to answers.
        Survey.objects.filter(pk=survey.pk).update(closes_at=now + timedelta(days=365))
    options = list(survey.options.order_by("position"))[: len(OPTIONS)]

    User = get_user_model()
    wanted: dict[str, tuple[Institution, Option, str]] = {}
    texts = iter(OTHER_TEXTS)
    for slug, counts in SPREAD.items():
        n = 0
        for option, count in zip(options, counts, strict=True):
            for _ in range(count):
                n += 1
                text = next(texts) if option.takes_text else ""
                wanted[_respondent(slug, n)] = (institutions[slug], option, text)
    existing_users = {u.username: u for u in User.objects.filter(username__in=wanted)}
    new_users = []
    for username, (institution, _, _) in wanted.items():
        if username not in existing_users:
            user = User(
                username=username,
                first_name="Respondent",
                last_name=f"of {institution.name}",
                is_active=False,
            )
            user.set_unusable_password()
            new_users.append(user)
    User.objects.bulk_create(new_users)
    users = {u.username: u for u in User.objects.filter(username__in=wanted)}

    answered = {
        a.user_id: a for a in Answer.objects.filter(survey=survey, user__username__in=wanted)
    }
    changed = False
    for username, (institution, option, text) in wanted.items():
        user = users[username]
        current = answered.get(user.pk)
        if current is None:
            Answer.objects.create(
                survey=survey, user=user, institution=institution, option=option, text=text
            )
            changed = True
        elif (current.option_id, current.text, current.institution_id) != (
            option.pk,
            text,
            institution.pk,
        ):
            current.option, current.text, current.institution = option, text, institution
            current.changed_at = now
            current.save()
            changed = True
    if changed:
        Survey.objects.filter(pk=survey.pk).update(results_version=F("results_version") + 1)
    if changed or not ResultSnapshot.objects.filter(survey=survey).exists():
        # Built here rather than by a worker, so the dashboard is right the moment the demo
        # starts, even before (or without) a worker.
        snapshot_rebuild(survey_id=survey.pk)
    cache_versions.bump("consortium", "surveys")  # written with update() and bulk_create()
    return survey
