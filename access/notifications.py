"""Telling people what happened: an in-app notification and an e-mail, after commit.

The notification rows are written in the transaction of the change (so a rolled-back change
tells nobody); the e-mails go after commit, and a mail server that fails loses no state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from access.models import Notification
from consortium.models import ConsortiumRole, Membership
from portal import cache_versions

log = logging.getLogger(__name__)


def stewards_of(institution_id: int) -> QuerySet:
    User = get_user_model()
    return User.objects.filter(
        is_active=True,
        membership__institution_id=institution_id,
        membership__role=Membership.Role.STEWARD,
    )


def moderators(*, excluding_institutions: Iterable[int] = ()) -> QuerySet:
    User = get_user_model()
    qs = User.objects.filter(is_active=True, consortium_roles__role=ConsortiumRole.Role.MODERATOR)
    return qs.exclude(membership__institution_id__in=list(excluding_institutions)).distinct()


def notify(users: Iterable[User | None], message: str, url: str = "") -> None:
    """Notify each user once, in the caller's transaction; e-mail them after it commits."""
    people = {u.pk: u for u in users if u is not None}
    Notification.objects.bulk_create(
        Notification(user_id=pk, message=message[:500], url=url[:300]) for pk in people
    )
    cache_versions.bump("access")
    addresses = [u.email for u in people.values() if u.email]
    if addresses:
        transaction.on_commit(lambda: _send(addresses, message, url), robust=True)


def absolute_url(url: str) -> str:
    """`url` (a path from `reverse`) under PORTAL_BASE_URL; full URLs stay as they are."""
    if not url or urlsplit(url).scheme:
        return url
    return settings.PORTAL_BASE_URL.rstrip("/") + "/" + url.lstrip("/")


def _send(addresses: list[str], message: str, url: str) -> None:
    # A mail client has no page to resolve a path against: the link must be absolute.
    url = absolute_url(url)
    body = f"{message}\n\n{url}\n" if url else f"{message}\n"
    for address in addresses:
        try:
            send_mail(f"BIZi: {message[:80]}", body, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # the in-app notification stands; mail is best effort
            log.exception("could not e-mail %s", address)


def unread_count(user: User) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def latest(user: User, *, limit: int = 100) -> list[Notification]:
    """The person's newest notifications, read or not."""
    return list(Notification.objects.filter(user_id=user.pk).order_by("-created_at")[:limit])


def mark_read(*, user: User) -> int:
    marked = Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    cache_versions.bump("access")
    return marked
