"""Grant keys under master-key rotation: the `storage_rewrap` hook for pseudonymization keys.

Each grant's pseudonymization key is wrapped by the storage master key, bound to the grant's
`key_id` (`services.access_request_approve`). `manage.py storage_rewrap` re-wraps storage's own
data keys and then calls every function named in STORAGE_REWRAP_HOOKS in the same transaction,
so that storage never imports the portal: this is the portal's. After a rotation the old
master key opens no grant key, and every grant pseudonymizes to the same tokens as before (the
key inside is unchanged; only its wrapping is new).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from access.models import Grant
from portal import cache_versions


def grant_keys_rewrap(*, keyring: Mapping[str, bytes], new_key: bytes, batch: int = 500) -> int:
    """Re-wrap every grant's key under `new_key`; returns how many were re-wrapped.

    `keyring` holds the master keys that may open a key now (storage's current and old ones).
    Grants already under `new_key` are left alone, so a second run changes nothing. Raises
    `storage.services.StorageError` naming the first grant no key opens, and then nothing is
    re-wrapped (one transaction, the caller's).
    """
    from storage.crypto import UnwrapError, unwrap_key, wrap_key
    from storage.services import StorageError

    # The new key first: after an interrupted run most grants are already under it.
    candidates = [new_key, *(k for k in keyring.values() if k != new_key)]
    done = 0
    with transaction.atomic():
        pks = list(Grant.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), batch):
            grants = list(
                Grant.objects.select_for_update()
                .filter(pk__in=pks[start : start + batch])
                .only("pk", "key_id", "wrapped_key")
                .order_by("pk")
            )
            changed = []
            for grant in grants:
                wrapped = bytes(grant.wrapped_key)
                for master in candidates:
                    try:
                        key = unwrap_key(wrapped, master_key=master, object_id=grant.key_id)
                    except UnwrapError:
                        continue
                    if master is not new_key:
                        grant.wrapped_key = wrap_key(
                            key, master_key=new_key, object_id=grant.key_id
                        )
                        changed.append(grant)
                    break
                else:
                    raise StorageError(
                        f"The pseudonymization key of grant #{grant.pk} opens under none of the "
                        "configured master keys; nothing was re-wrapped.",
                        code="key_unavailable",
                    )
            Grant.objects.bulk_update(changed, ["wrapped_key"])
            cache_versions.bump("access")
            done += len(changed)
    return done
