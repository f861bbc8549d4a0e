"""Sending checkpoints to member institutions' witnesses (C2SP tlog-witness) and keeping
the cosignatures they return (C2SP tlog-cosignature)."""

from __future__ import annotations

import logging
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ledger import merkle, witness_client
from ledger.models import Block, Cosignature, Witness, WitnessStatus
from ledger.notes import (
    NoteError,
    Verifier,
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

REASON_MAX = 160

# What a refusal means, by its C2SP tlog-witness status code.
REFUSALS = {
    400: "the witness found the request malformed (400 Bad Request)",
    403: "the witness does not trust the portal's key for this log (403 Forbidden)",
    404: "the witness does not know this log (404 Not Found)",
    409: "the witness has cosigned a different tree (409 Conflict)",
    422: "the witness could not verify the consistency proof (422 Unprocessable Entity)",
}


def witness_register(*, institution, name: str, url: str, vkey: str) -> Witness:
    try:
        verifier = parse_verifier_key(vkey.strip())
    except NoteError as exc:
        raise DomainError(f"This is not a verifier key: {exc}.", field="vkey") from exc
    try:
        witness_client.check_url(url)
    except witness_client.WitnessURLError as exc:
        raise DomainError(str(exc), field="url") from exc
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


def sanitize_reason(text: str) -> str:
    """Printable ASCII on one line, at most REASON_MAX characters."""
    text = re.sub(r"\s+", " ", "".join(c if " " <= c <= "~" else " " for c in text)).strip()
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 3].rstrip() + "..."


@dataclass
class _Attempt:
    witness: Witness
    verifier: Verifier
    old_size: int
    tries: int = 0
    outcome: str = ""


def witness_all(*, height: int) -> dict[str, str]:
    """Ask every active witness at once to cosign the newest checkpoint; outcome per witness.

    All calls of one block share LEDGER_WITNESS_DEADLINE_SECONDS. A witness that failed is
    not asked again before its `next_attempt_at` (the wait doubles per consecutive failure,
    up to LEDGER_WITNESS_BACKOFF_MAX_SECONDS). Each witness must be shown a consistency proof
    from the size it last cosigned; if it says (409) it is at another size, that is believed
    once and the checkpoint sent again from there, within the same deadline.
    """
    block = Block.objects.get(height=height)
    newest = Block.objects.order_by("-height").values_list("height", flat=True).first()
    if newest is not None and newest > height:
        block = Block.objects.get(height=newest)  # witnesses only need the newest checkpoint
    deadline = time.monotonic() + float(settings.LEDGER_WITNESS_DEADLINE_SECONDS)
    now = timezone.now()
    outcomes: dict[str, str] = {}
    pending: list[_Attempt] = []
    for witness in Witness.objects.filter(active=True):
        if witness.last_cosigned_size > block.tree_size:
            outcomes[str(witness)] = "already newer"
        elif witness.next_attempt_at is not None and witness.next_attempt_at > now:
            outcomes[str(witness)] = "backing off"
        else:
            try:
                verifier = parse_verifier_key(witness.vkey).for_cosignatures()
            except NoteError:
                outcomes[str(witness)] = _record_failure(
                    witness, WitnessStatus.BAD_SIGNATURE, "its registered key is not valid"
                )
                continue
            pending.append(_Attempt(witness, verifier, witness.last_cosigned_size))
    attempts = list(pending)
    if pending:
        threads = max(1, min(int(settings.LEDGER_WITNESS_THREADS), len(pending)))
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="witness")
        try:
            while pending:
                pending = _round(pool, pending, block, deadline)
        finally:
            # A call still running past the deadline is abandoned (its own watchdog ends it).
            pool.shutdown(wait=False, cancel_futures=True)
    return outcomes | {str(a.witness): a.outcome for a in attempts}


def witness_pending(*, now: datetime | None = None) -> dict[str, str]:
    """Beat: ask the active witnesses still behind the newest block again; outcome per witness.

    The block's own send (queued when it was sealed) may have been lost with the broker, or a
    witness may have been down; this finds them from the rows. A block sealed less than
    LEDGER_WITNESS_DEADLINE_SECONDS ago is left to its own send, and a witness backing off
    waits for its `next_attempt_at`, as in `witness_all`.
    """
    now = now or timezone.now()
    block = Block.objects.order_by("-height").first()
    if block is None or now - block.sealed_at < timedelta(
        seconds=float(settings.LEDGER_WITNESS_DEADLINE_SECONDS)
    ):
        return {}
    behind = Witness.objects.filter(active=True, last_cosigned_size__lt=block.tree_size).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if not behind.exists():
        return {}
    return witness_all(height=block.height)


def _round(
    pool: ThreadPoolExecutor, attempts: list[_Attempt], block: Block, deadline: float
) -> list[_Attempt]:
    """Send one add-checkpoint to each witness in parallel; the attempts to send again."""
    futures: dict[Future[witness_client.Reply], _Attempt] = {}
    for attempt in attempts:
        attempt.tries += 1
        body = format_add_checkpoint(
            attempt.old_size,
            _consistency(attempt.old_size, block.tree_size),
            block.checkpoint.encode(),
        )
        future = pool.submit(
            witness_client.post, attempt.witness.url, "add-checkpoint", body, deadline=deadline
        )
        futures[future] = attempt
    wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    again = []
    for future, attempt in futures.items():
        if not future.done():
            future.cancel()
            attempt.outcome = _record_failure(
                attempt.witness, WitnessStatus.TIMED_OUT, "no answer within the block's deadline"
            )
            continue
        try:
            reply = future.result()
        except witness_client.WitnessCallError as exc:
            attempt.outcome = _record_failure(attempt.witness, exc.classification, exc.reason)
            continue
        except Exception:
            log.exception("witness %s: the call failed", attempt.witness)
            attempt.outcome = _record_failure(
                attempt.witness, WitnessStatus.UNREACHABLE, "the call failed in the portal"
            )
            continue
        if _judge(attempt, reply, block):
            again.append(attempt)
    return again


def _judge(attempt: _Attempt, reply: witness_client.Reply, block: Block) -> bool:
    """Record what `reply` means for `attempt`; True if it should be sent again (409 + size)."""
    witness, status = attempt.witness, reply.status
    if 300 <= status < 400:
        attempt.outcome = _record_failure(
            witness,
            WitnessStatus.REDIRECTED,
            f"the witness answered with a redirect (HTTP {status}); redirects are not followed",
            code=status,
        )
        return False
    if status == 409:
        size = reply.body.strip()
        if size.isdigit() and len(size) <= 19:
            reported = int(size)
            if attempt.tries >= 2:
                reason = "the witness disagreed about its size twice (409 Conflict)"
            elif reported > block.tree_size:
                reason = f"the witness has cosigned a larger tree (size {reported}) (409 Conflict)"
            else:
                attempt.old_size = reported
                return True
            attempt.outcome = _record_failure(witness, WitnessStatus.REFUSED, reason, code=409)
            return False
    if status >= 400:
        reason = REFUSALS.get(status, f"the witness answered HTTP {status}")
        attempt.outcome = _record_failure(witness, WitnessStatus.REFUSED, reason, code=status)
        return False
    if status != 200:
        attempt.outcome = _record_failure(
            witness, WitnessStatus.BAD_RESPONSE, f"the witness answered HTTP {status}", code=status
        )
        return False
    try:
        signatures = parse_cosignatures(reply.body)
        note = parse_note(block.checkpoint.encode()).with_signatures(signatures)
        verified = verify_note(note, [attempt.verifier]).verified
    except (NoteError, UnicodeError, ValueError):
        attempt.outcome = _record_failure(
            witness, WitnessStatus.BAD_RESPONSE, "the reply is not a cosignature line"
        )
        return False
    if not verified:
        attempt.outcome = _record_failure(
            witness, WitnessStatus.BAD_SIGNATURE, "no signature by the witness's registered key"
        )
        return False
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
            last_status=WitnessStatus.COSIGNED,
            last_status_code=None,
            last_reason="",
            last_attempt_at=timezone.now(),
            consecutive_failures=0,
            next_attempt_at=None,
        )
    attempt.outcome = "cosigned"
    return False


def _backoff(failures: int) -> timedelta:
    base = float(settings.LEDGER_WITNESS_BACKOFF_SECONDS)
    cap = float(settings.LEDGER_WITNESS_BACKOFF_MAX_SECONDS)
    return timedelta(seconds=min(cap, base * 2.0 ** min(failures - 1, 60)))


def _record_failure(witness: Witness, status: str, reason: str, *, code: int | None = None) -> str:
    """Store the classification and our own short reason; start or lengthen the backoff."""
    status = WitnessStatus(status)
    reason = sanitize_reason(reason)
    failures = witness.consecutive_failures + 1
    now = timezone.now()
    log.warning("witness %s: %s %s: %s", witness, status.value, code or "", reason)
    Witness.objects.filter(pk=witness.pk).update(
        last_status=status,
        last_status_code=code,
        last_reason=reason,
        last_attempt_at=now,
        consecutive_failures=failures,
        next_attempt_at=now + _backoff(failures),
    )
    witness.consecutive_failures = failures
    return f"refused ({code})" if status == WitnessStatus.REFUSED else status.value


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
                    last_cosigned_size=tree_size,
                    last_status=WitnessStatus.COSIGNED,
                    last_status_code=None,
                    last_reason="",
                    consecutive_failures=0,
                    next_attempt_at=None,
                )
            return cosignature
    raise DomainError(
        "No registered witness has a key that verifies this cosignature.", field="cosignature"
    )
