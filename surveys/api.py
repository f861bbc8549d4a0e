"""The survey API (SPEC: `GET surveys/`, `POST surveys/{id}/answer/`, `GET surveys/{id}/results/`).

Thin views over surveys/services.py and surveys/selectors.py: the API and the pages run the
same rules. Results are the worker's snapshot, served as stored.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from consortium.models import Institution
from portal.permissions import AuthenticatedRequest, Perm, can
from surveys import selectors, services
from surveys.models import Answer, Option, Survey

BIGINT_MAX = 2**63 - 1


class OptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Option
        fields = ["id", "position", "label", "takes_text"]


class AnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Answer
        fields = ["survey", "option", "text", "answered_at", "changed_at"]


class SurveySerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    institutions: serializers.SlugRelatedField[Institution] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    options = OptionSerializer(many=True, read_only=True)
    my_answer = serializers.SerializerMethodField()
    may_answer = serializers.SerializerMethodField()

    class Meta:
        model = Survey
        fields = [
            "id",
            "title",
            "question",
            "opens_at",
            "closes_at",
            "status",
            "audience",
            "institutions",
            "options",
            "my_answer",
            "may_answer",
        ]

    def get_status(self, survey: Survey) -> str:
        return survey.status()

    @extend_schema(responses=AnswerSerializer(allow_null=True))
    def get_my_answer(self, survey: Survey) -> dict[str, Any] | None:
        answer = selectors.my_answer(survey)
        return AnswerSerializer(answer).data if answer else None

    def get_may_answer(self, survey: Survey) -> bool:
        return can(self.context["request"].user, Perm.SURVEY_ANSWER, survey) and (
            survey.status() == "open"
        )


class AnswerInputSerializer(serializers.Serializer):
    option = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=services.MAX_TEXT
    )


class ResultRowSerializer(serializers.Serializer):
    option = serializers.IntegerField()
    # DRF's metaclass takes declared fields out of the class, so this does not hide Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField(help_text="Number")
    percent = serializers.IntegerField(help_text="Proportion, whole percent (see `rounding`)")


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    total = serializers.IntegerField(allow_null=True)
    hidden = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    rows = ResultRowSerializer(many=True)


class ResultsSerializer(serializers.Serializer):
    survey = serializers.IntegerField()
    title = serializers.CharField()
    question = serializers.CharField()
    built_at = serializers.DateTimeField(help_text="When the snapshot was built.")
    stale = serializers.BooleanField(help_text="Answers have changed since; a rebuild is due.")
    total = serializers.IntegerField()
    hidden = serializers.BooleanField(help_text="True while fewer than min_group answered.")
    rows = ResultRowSerializer(many=True)
    institutions = GroupSerializer(many=True)
    texts = serializers.ListField(child=serializers.CharField(), help_text="Latest “other” texts")
    texts_total = serializers.IntegerField()
    rounding = serializers.CharField()
    min_group = serializers.IntegerField()


class SurveyListView(generics.ListAPIView):
    """Surveys you can see, with their options and your own answer."""

    serializer_class = SurveySerializer

    def get_queryset(self):
        return selectors.survey_list_qs(user=self.request.user)


class AnswerView(APIView):
    """Give or change your answer: `{"option": id, "text": "…"}` (text only for the free-text
    option, and required there). 201 for a first answer, 200 for a change."""

    @extend_schema(
        request=AnswerInputSerializer, responses={200: AnswerSerializer, 201: AnswerSerializer}
    )
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        survey = selectors.survey_for_answering(user=request.user, pk=pk)
        data = AnswerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer, created = services.answer_submit(
            by=request.user,
            survey=survey,
            option_id=data.validated_data["option"],
            text=data.validated_data["text"],
        )
        return Response(
            AnswerSerializer(answer).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ResultsView(APIView):
    """Table 2 from the latest snapshot: managers and moderators only (403 for others)."""

    @extend_schema(responses={200: ResultsSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        results = selectors.results_for(user=request.user, survey_id=pk)
        snapshot = results.snapshot
        if snapshot is None:
            return Response(
                {
                    "status": 503,
                    "code": "not_ready",
                    "detail": "The results are still being counted; try again in a minute.",
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "60"},
            )
        document = snapshot.document
        body = {
            "survey": results.survey.pk,
            "title": results.survey.title,
            "question": results.survey.question,
            "built_at": snapshot.built_at,
            "stale": results.stale,
            "total": document["overall"]["total"],
            "hidden": document["overall"]["hidden"],
            "rows": document["overall"]["rows"],
            "institutions": document["institutions"],
            "texts": document["texts"],
            "texts_total": document["texts_total"],
            "rounding": document["rounding"],
            "min_group": document["min_group"],
        }
        return Response(ResultsSerializer(body).data)
