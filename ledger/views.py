"""Ledger pages: read-only, for every member of the consortium."""

import base64
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ledger import selectors, witnessing
from ledger.forms import WitnessForm
from ledger.keys import log_verifier
from portal.errors import DomainError
from portal.permissions import Perm, actor_for, can, require


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.LEDGER_VIEW)
    blocks = Paginator(selectors.blocks_newest_first(), 20).get_page(request.GET.get("page"))
    latest = selectors.latest_block()
    return render(
        request,
        "ledger/overview.html",
        {
            "blocks": blocks,
            "latest": latest,
            "checkpoint": selectors.checkpoint_with_cosignatures(latest) if latest else None,
            "tree_size": selectors.log_size(),
            "witnesses": selectors.witnesses(),
            "verification": selectors.latest_verification(),
            "quorum": selectors.quorum_state(latest),
            "tiles_prefix": request.build_absolute_uri(
                reverse("api-ledger-tlog-checkpoint")
            ).removesuffix("checkpoint"),
            "may_register_witness": actor_for(request.user).is_steward
            or actor_for(request.user).is_moderator,
        },
    )


@login_required
def block_detail(request: HttpRequest, height: int) -> HttpResponse:
    require(request.user, Perm.LEDGER_VIEW)
    block = get_object_or_404(selectors.blocks_newest_first(), height=height)
    previous_size = selectors.tree_size_before(block)
    entries = Paginator(selectors.block_entries(block, first_index=previous_size), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "ledger/block_detail.html",
        {
            # Not "block": inside {% block %} tags Django's templates use that name themselves.
            "the_block": block,
            "entries": entries,
            "first_index": previous_size,
            "checkpoint": selectors.checkpoint_with_cosignatures(block),
        },
    )


@login_required
def entry_detail(request: HttpRequest, index: int) -> HttpResponse:
    require(request.user, Perm.LEDGER_VIEW)
    entry = get_object_or_404(selectors.entries(), index=index)
    block = selectors.block_sealing(index)
    latest = selectors.latest_block()
    proof = None
    if latest is not None and latest.tree_size > index:
        found = selectors.inclusion_proof(index=index, tree_size=latest.tree_size)
        proof = {
            "tree_size": latest.tree_size,
            "hashes": [h.hex() for h in found.hashes],
            "root": bytes(latest.root_hash).hex(),
        }
    data = bytes(entry.data)
    decoded = json.loads(data)
    return render(
        request,
        "ledger/entry_detail.html",
        {
            "entry": entry,
            "by_someone": "user" in decoded.get("commitments", {}),
            "commitments": sorted(decoded.get("commitments", {})),
            "the_block": block,
            "latest": latest,
            "pretty": json.dumps(decoded, indent=2, ensure_ascii=False, sort_keys=True),
            "data_b64": base64.b64encode(data).decode(),
            "leaf_hex": bytes(entry.leaf_hash).hex(),
            "proof": proof,
            "proof_data": {
                **(proof or {}),
                "index": entry.index,
                "entry_b64": base64.b64encode(data).decode(),
                "leaf_hex": bytes(entry.leaf_hash).hex(),
            },
        },
    )


@login_required
def dataset_history(request: HttpRequest, dataset: str) -> HttpResponse:
    require(request.user, Perm.LEDGER_VIEW)
    entries = Paginator(selectors.dataset_history(dataset), 50).get_page(request.GET.get("page"))
    return render(request, "ledger/dataset_history.html", {"dataset": dataset, "entries": entries})


@login_required
@require_http_methods(["GET", "POST"])
def witness_new(request: HttpRequest) -> HttpResponse:
    """A steward registers their institution's witness (moderators, any institution's)."""
    institutions = selectors.institutions_registering_witnesses(
        may_register=lambda i: can(request.user, Perm.WITNESS_REGISTER, i)
    )
    if not institutions.exists():
        raise PermissionDenied(
            "Only a steward of an institution or a moderator registers witnesses."
        )
    form = WitnessForm(request.POST or None, institutions=institutions)
    if request.method == "POST" and form.is_valid():
        try:
            witness = witnessing.witness_register(
                institution=form.cleaned_data["institution"],
                name="",
                url=form.cleaned_data["url"],
                vkey=form.cleaned_data["vkey"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, f"Witness {witness.name} registered; the next block goes to it."
            )
            return redirect("ledger")
    return render(
        request,
        "ledger/witness_new.html",
        {"form": form, "log_vkey": log_verifier().to_vkey()},
        status=400 if request.method == "POST" else 200,
    )
