"""Salted commitments: the log proves what was said without saying it."""

import hashlib
import json

import pytest
from django.db import transaction

from ledger import commitments
from ledger.models import Entry, Opening
from ledger.selectors import openings
from ledger.services import append_all, record_event
from portal.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

SECRET = "Check customer 4711-ACC-998877 for fraud"


def test_a_commitment_is_sha256_of_salt_then_utf8_value():
    salt = bytes(range(32))
    value = "Prüfung 检查"
    assert commitments.commitment(salt, value) == hashlib.sha256(salt + value.encode()).digest()
    assert commitments.opens(hashlib.sha256(salt + value.encode()).hexdigest(), salt, value)
    assert not commitments.opens(hashlib.sha256(salt + b"other").hexdigest(), salt, value)
    with pytest.raises(ValueError):
        commitments.commitment(b"short", value)


def _record(scope="request:1", **private):
    member = MembershipFactory(user__username="sam", institution__slug="northbank")
    with transaction.atomic():
        record_event("access.requested", member.user, {"request": 1}, private=private, scope=scope)
    return member


def test_private_values_and_the_person_are_only_commitments_in_the_entry():
    _record(purpose=SECRET, filter="account = 'ACC-998877'")
    append_all()
    data = bytes(Entry.objects.get().data)
    for clear in (b"4711", b"ACC-998877", b"fraud", b"sam"):
        assert clear not in data
    held = json.loads(data)["commitments"]
    assert set(held) == {"purpose", "filter", "user"}
    kept = {o.field: o for o in Opening.objects.all()}
    assert kept["purpose"].value == SECRET and kept["user"].value == "sam"
    for name, opening in kept.items():
        assert held[name] == commitments.commitment(bytes(opening.salt), opening.value).hex()
        assert opening.scope == "request:1"


def test_every_field_gets_its_own_salt_so_equal_values_are_unlinkable():
    _record(purpose="same words here", reason="same words here")
    member = MembershipFactory(user__username="sam2")
    with transaction.atomic():
        record_event("access.cleared", member.user, {}, private={"reason": "same words here"})
    append_all()
    salts = [bytes(s) for s in Opening.objects.values_list("salt", flat=True)]
    assert len(set(salts)) == len(salts) == 5
    held = [
        json.loads(bytes(d))["commitments"] for d in Entry.objects.values_list("data", flat=True)
    ]
    assert held[0]["purpose"] != held[0]["reason"] != held[1]["reason"]


def test_openings_are_checked_against_the_entry_pending_until_appended():
    _record(purpose=SECRET)
    (pending,) = openings(["request:1"])
    assert pending.entry_index is None
    assert {f.check for f in pending.fields} == {"pending"}
    append_all()
    (opened,) = openings(["request:1"])
    assert opened.entry_index == 0 and opened.kind == "access.requested"
    assert {f.field: f.check for f in opened.fields} == {"purpose": "matches", "user": "matches"}
    assert openings(["request:2"]) == []


def test_an_opening_that_was_altered_no_longer_matches_its_entry():
    _record(purpose=SECRET)
    append_all()
    Opening.objects.filter(field="purpose").update(value=SECRET.replace("4711", "4712"))
    (opened,) = openings(["request:1"])
    assert {f.field: f.check for f in opened.fields}["purpose"] == "mismatch"


def test_an_event_without_actor_or_private_values_commits_to_nothing():
    with transaction.atomic():
        record_event("access.expired", None, {"grant": 3})
    append_all()
    decoded = json.loads(bytes(Entry.objects.get().data))
    assert decoded["commitments"] == {} and decoded["actor"] == {"institution": None}
    assert not Opening.objects.exists()
