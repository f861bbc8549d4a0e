"""The portal's models: the consortium (institutions, people, roles), its catalog and access."""

from portal.dashboards.models import DashboardSnapshot
from portal.models.access import AccessRequest, Download, Grant, Notification
from portal.models.catalog import Dataset, DatasetUpload, DatasetVersion, Tag
from portal.models.consortium import (
    ApiToken,
    ConsortiumRole,
    Institution,
    Membership,
    WorkerHeartbeat,
    validate_lei,
)

__all__ = [
    "AccessRequest",
    "ApiToken",
    "ConsortiumRole",
    "DashboardSnapshot",
    "Dataset",
    "DatasetUpload",
    "DatasetVersion",
    "Download",
    "Grant",
    "Institution",
    "Membership",
    "Notification",
    "Tag",
    "WorkerHeartbeat",
    "validate_lei",
]
