"""The BIZi portal: the Django project and the consortium app (institutions, members, roles)."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
