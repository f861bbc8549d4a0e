"""Fixtures shared by every app's tests (registered in the root conftest).

The personas of the consortium's tests, after healthchecks' alice/bob/charlie:

- `alice` is a steward of Acme Bank, `bob` is staff at Acme Bank;
- `carol` is a steward of Beta Insurance, `dave` staff there (the other institution);
- `mo` is a consortium moderator, `meg` a manager, `aud` an auditor (no institution).
"""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from consortium.models import ConsortiumRole, Institution, Membership
from portal.tests.factories import (
    ConsortiumRoleFactory,
    InstitutionFactory,
    MembershipFactory,
    UserFactory,
)


@dataclass
class Cast:
    acme: Institution
    beta: Institution
    alice: Membership
    bob: Membership
    carol: Membership
    dave: Membership
    mo: object
    meg: object
    aud: object


@pytest.fixture
def cast(db: None) -> Cast:
    acme = InstitutionFactory(name="Acme Bank", slug="acme")
    beta = InstitutionFactory(name="Beta Insurance", slug="beta", kind=Institution.Kind.INSURER)
    people = {
        "alice": MembershipFactory(user__username="alice", institution=acme, steward=True),
        "bob": MembershipFactory(user__username="bob", institution=acme),
        "carol": MembershipFactory(user__username="carol", institution=beta, steward=True),
        "dave": MembershipFactory(user__username="dave", institution=beta),
    }
    roles = {
        "mo": ConsortiumRoleFactory(user=UserFactory(username="mo")).user,
        "meg": ConsortiumRoleFactory(
            user=UserFactory(username="meg"), role=ConsortiumRole.Role.MANAGER
        ).user,
        "aud": ConsortiumRoleFactory(
            user=UserFactory(username="aud"), role=ConsortiumRole.Role.AUDITOR
        ).user,
    }
    return Cast(acme=acme, beta=beta, **people, **roles)


@pytest.fixture
def api() -> APIClient:
    return APIClient()
