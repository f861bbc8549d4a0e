"""The portal's models: the consortium (institutions, people, roles) and its catalog."""

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
    "ApiToken",
    "ConsortiumRole",
    "Dataset",
    "DatasetUpload",
    "DatasetVersion",
    "Institution",
    "Membership",
    "Tag",
    "WorkerHeartbeat",
    "validate_lei",
]
