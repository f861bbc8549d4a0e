"""Sending checkpoints to member institutions' witnesses (C2SP tlog-witness) and keeping
the cosignatures they return (C2SP tlog-cosignature)."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger import merkle
from ledger.models import Block, Cosignature, Witness
from ledger.notes import (
    NoteError,
    cosignature_timestamp,
    format_add_checkpoint,
    parse_cosignatures,
    parse_note,
    parse_verifier_key,
    verify_note,
)
from ledger.services import read_nodes
from portal.errors import DomainError

log = logging.getLogger(__name__)


def witness_register(*, institution, name: str, url: str, vkey: str) -> Witness:  # type: ignore[no-untyped-def]
    try:
        verifier = parse_verifier_key(vkey.strip())
    except NoteError as exc:
        raise DomainError(f"This is not a verifier key: {exc}.", field="vkey") from exc
    witness = Witness(
        institution=institution, name=name or verifier.name, url=url.rstrip("/"), vkey=vkey.strip()
    )
    witness.full_clean()
    witness.save()
    return witness


def _consistency(first: int, second: int) -> list[bytes]:
    if first == 0 or first == second:
        return []
    plan = merkle.consistency_plan(first, second)
    found = read_nodes(merkle.plan_nodes(plan))
    return merkle.build_proof(plan, lambda level, i: found[(level, i)])


def _post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - URLs are registered by moderators
        url, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.LEDGER_WITNESS_TIMEOUT_SECONDS
        ) as response:
            return response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(65536)


def witness_block(*, witness: Witness, block: Block) -> str:
    """Ask one witness to cosign `block`'s checkpoint; returns the outcome in a word.

    The witness must be shown a consistency proof from the size it last cosigned. If it says
    (409) it is at another size, believe it once and try again from there.
    """
    if witness.last_cosigned_size > block.tree_size:
        return "already newer"
    verifier = parse_verifier_key(witness.vkey).for_cosignatures()
    for _attempt in range(2):
        old = witness.last_cosigned_size
        body = format_add_checkpoint(
            old, _consistency(old, block.tree_size), block.checkpoint.encode()
        )
        try:
            status, reply = _post(f"{witness.url}/add-checkpoint", body)
        except OSError as exc:
            return _record_failure(witness, "unreachable", str(exc))
        if status == 409 and reply.strip().isdigit():
            witness.last_cosigned_size = int(reply.strip())
            continue
        if status != 200:
            return _record_failure(witness, f"refused ({status})", reply.decode(errors="replace"))
        try:
            signatures = parse_cosignatures(reply)
            note = parse_note(block.checkpoint.encode()).with_signatures(signatures)
            verified = verify_note(note, [verifier]).verified
        except NoteError as exc:
            return _record_failure(witness, "bad cosignature", str(exc))
        if not verified:
            return _record_failure(witness, "bad cosignature", "no signature by the witness key")
        signature = verified[0]
        with transaction.atomic():
            Cosignature.objects.get_or_create(
                block=block,
                witness=witness,
                defaults={
                    "signature_line": signature.line().rstrip("\n"),
                    "timestamp": cosignature_timestamp(signature),
                },
            )
            Witness.objects.filter(pk=witness.pk).update(
                last_cosigned_size=block.tree_size,
                last_status="cosigned",
                last_error="",
                last_attempt_at=timezone.now(),
            )
        return "cosigned"
    return _record_failure(witness, "size mismatch", "the witness disagreed about its size twice")


def _record_failure(witness: Witness, status: str, detail: str) -> str:
    log.warning("witness %s: %s: %s", witness, status, detail[:300])
    Witness.objects.filter(pk=witness.pk).update(
        last_status=status[:40], last_error=detail[:2000], last_attempt_at=timezone.now()
    )
    return status


def witness_all(*, height: int) -> dict[str, str]:
    block = Block.objects.get(height=height)
    newest = Block.objects.order_by("-height").values_list("height", flat=True).first()
    if newest is not None and newest > height:
        block = Block.objects.get(height=newest)  # witnesses only need the newest checkpoint
    return {
        str(w): witness_block(witness=w, block=block) for w in Witness.objects.filter(active=True)
    }


def cosignature_submit(*, tree_size: int, line: str) -> Cosignature:
    """Accept a cosignature pushed by a registered witness (POST ledger/cosignatures/)."""
    block = Block.objects.filter(tree_size=tree_size).first()
    if block is None:
        raise DomainError(f"No block was sealed at tree size {tree_size}.", field="tree_size")
    try:
        signature = parse_cosignatures(line.strip().encode() + b"\n")[0]
    except (NoteError, IndexError) as exc:
        raise DomainError(f"This is not a cosignature line: {exc}.", field="cosignature") from exc
    for witness in Witness.objects.filter(active=True, name=signature.name):
        verifier = parse_verifier_key(witness.vkey).for_cosignatures()
        note = parse_note(block.checkpoint.encode()).with_signatures([signature])
        if verify_note(note, [verifier]).verified:
            cosignature, _ = Cosignature.objects.get_or_create(
                block=block,
                witness=witness,
                defaults={
                    "signature_line": signature.line().rstrip("\n"),
                    "timestamp": cosignature_timestamp(signature),
                },
            )
            if witness.last_cosigned_size < tree_size:
                Witness.objects.filter(pk=witness.pk).update(
                    last_cosigned_size=tree_size, last_status="cosigned", last_error=""
                )
            return cosignature
    raise DomainError(
        "No registered witness has a key that verifies this cosignature.", field="cosignature"
    )
