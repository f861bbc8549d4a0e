"""Fixtures of the survey tests. The personas (`cast`) come from portal/tests/fixtures.py."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from consortium.models import Institution, Membership
from surveys.models import Option, Survey
from surveys.services import answer_submit
from surveys.tests.factories import SurveyFactory


def option(survey: Survey, position: int) -> Option:
    return survey.options.get(position=position)


def answer(user, survey: Survey, position: int, text: str = ""):  # type: ignore[no-untyped-def]
    """Answer as `user` through the service, choosing the option at `position` (from 1)."""
    return answer_submit(by=user, survey=survey, option_id=option(survey, position).pk, text=text)


def make_members(institution: Institution, n: int, prefix: str) -> list:  # type: ignore[type-arg]
    """`n` staff members of `institution`, inserted in bulk."""
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"{prefix}-{i:05d}") for i in range(n)], batch_size=500
    )
    users = list(User.objects.filter(username__startswith=f"{prefix}-").order_by("username"))
    Membership.objects.bulk_create(
        [Membership(user=u, institution=institution) for u in users], batch_size=500
    )
    return list(User.objects.filter(pk__in=[u.pk for u in users]).select_related("membership"))


@pytest.fixture
def survey(cast) -> Survey:  # type: ignore[no-untyped-def]
    """An open survey for everyone, with the paper's four options (the fourth takes text)."""
    return SurveyFactory(title="Effect survey")
