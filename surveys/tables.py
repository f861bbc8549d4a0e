"""Table 2 arithmetic, free of Django: proportions that add up to 100 %, and which groups hide.

Proportions are whole percent by the largest-remainder (Hamilton) method: every option first
gets the floor of its exact share; the points still missing to 100 go one each to the options
with the largest remainders, a tie going to the option listed first. The column therefore adds
up to exactly 100 % (all 0 % while nobody has answered) and no figure is a whole point or more
off its exact share. Shares that are whole numbers already, like the paper's, are unchanged.

A group of fewer than `minimum` answers is not shown, so that no one's answer can be read off.
Hiding it is not enough on its own: the overall figures minus the groups shown give back the
sum of the hidden ones. So while the hidden groups together hold fewer than `minimum` answers,
the smallest shown groups are hidden too (complementary suppression, as statistics offices do).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

ROUNDING_RULE = (
    "Whole percent by the largest-remainder method: each share is rounded down, then the "
    "points missing to 100 go to the largest remainders (ties to the option listed first)."
)

K = TypeVar("K", bound=Hashable)


def largest_remainder_percents(counts: Sequence[int]) -> list[int]:
    """Whole percentages of `counts` that add up to exactly 100 (or all 0 for no answers)."""
    if any(c < 0 for c in counts):
        raise ValueError(f"counts cannot be negative: {list(counts)}")
    total = sum(counts)
    if total == 0:
        return [0] * len(counts)
    # Integer arithmetic throughout: floats would misorder remainders that differ by 1/total.
    percents = [c * 100 // total for c in counts]
    remainders = [c * 100 % total for c in counts]
    missing = 100 - sum(percents)  # fewer than len(counts): the remainders sum to < len·total
    by_remainder = sorted(range(len(counts)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:missing]:
        percents[i] += 1
    return percents


def hidden_groups(totals: Mapping[K, int], minimum: int) -> dict[K, str]:
    """The groups not to show, each with the reason to give."""
    hidden = {key: f"fewer than {minimum} answers" for key, n in totals.items() if n < minimum}
    if hidden:
        shown = sorted((k for k in totals if k not in hidden), key=lambda k: (totals[k], str(k)))
        while shown and sum(totals[k] for k in hidden) < minimum:
            hidden[shown.pop(0)] = "hidden as well, so that a smaller group cannot be worked out"
    return hidden


@dataclass(frozen=True)
class OptionInfo:
    id: int
    label: str
    takes_text: bool = False


@dataclass(frozen=True)
class InstitutionInfo:
    id: int
    slug: str
    name: str


def _rows(options: Sequence[OptionInfo], counts: Mapping[int, int]) -> list[dict[str, Any]]:
    numbers = [counts.get(o.id, 0) for o in options]
    return [
        {"option": o.id, "label": o.label, "count": n, "percent": p}
        for o, n, p in zip(options, numbers, largest_remainder_percents(numbers), strict=True)
    ]


def build_document(
    *,
    options: Sequence[OptionInfo],
    tally: Iterable[tuple[int, int, int]],
    institutions: Mapping[int, InstitutionInfo],
    texts: Sequence[str],
    minimum: int,
) -> dict[str, Any]:
    """The snapshot's JSON from the tally rows `(institution id, option id, count)`.

    Hidden groups carry neither their rows nor their total. When fewer than `minimum` people
    answered in all, the overall rows and the free texts are hidden too.
    """
    known = {o.id for o in options}
    per_group: dict[int, dict[int, int]] = {}
    overall: dict[int, int] = {}
    for institution_id, option_id, n in tally:
        if option_id not in known:
            continue
        per_group.setdefault(institution_id, {})[option_id] = n
        overall[option_id] = overall.get(option_id, 0) + n
    total = sum(overall.values())
    totals = {key: sum(counts.values()) for key, counts in per_group.items()}
    hidden = hidden_groups(totals, minimum)
    overall_hidden = total < minimum

    groups = []
    for key in sorted(per_group, key=lambda k: institutions[k].name.casefold()):
        info = institutions[key]
        group: dict[str, Any] = {"id": info.id, "slug": info.slug, "name": info.name}
        if key in hidden:
            group |= {"hidden": True, "reason": hidden[key], "total": None, "rows": []}
        else:
            group |= {"hidden": False, "reason": "", "total": totals[key]}
            group["rows"] = _rows(options, per_group[key])
        groups.append(group)

    texts_total = sum(overall.get(o.id, 0) for o in options if o.takes_text)
    return {
        "rounding": ROUNDING_RULE,
        "min_group": minimum,
        "options": [{"id": o.id, "label": o.label, "takes_text": o.takes_text} for o in options],
        "overall": {
            "total": total,
            "hidden": overall_hidden,
            "reason": f"fewer than {minimum} answers so far" if overall_hidden else "",
            "rows": [] if overall_hidden else _rows(options, overall),
        },
        "institutions": groups,
        "texts": [] if overall_hidden else list(texts),
        "texts_total": 0 if overall_hidden else texts_total,
    }
