from django.urls import path

from surveys import api, converters  # noqa: F401 - converters registers <survey_id:…>

urlpatterns = [
    path("", api.SurveyListView.as_view(), name="api-surveys"),
    path("<survey_id:pk>/answer/", api.AnswerView.as_view(), name="api-survey-answer"),
    path("<survey_id:pk>/results/", api.ResultsView.as_view(), name="api-survey-results"),
]
