"""Keep snapshots honest when answers disappear around the services: deleting a person deletes
their answers (CASCADE), and the surveys they answered must be rebuilt. Cache invalidation is
what signals are for here; no business rule lives in them."""

from typing import Any

from surveys.models import Answer
from surveys.services import mark_results_changed


def user_pre_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    survey_ids = list(
        Answer.objects.filter(user_id=instance.pk).values_list("survey_id", flat=True)
    )
    if survey_ids:
        # In the deleting transaction: the bump commits with the delete or not at all.
        mark_results_changed(survey_ids=survey_ids)
