from django.urls import path

from surveys import converters, views  # noqa: F401 - converters registers <survey_id:…>

urlpatterns = [
    path("", views.survey_list, name="surveys"),
    path("new/", views.survey_create, name="survey-create"),
    path("<survey_id:pk>/", views.survey_detail, name="survey-detail"),
    path("<survey_id:pk>/edit/", views.survey_edit, name="survey-edit"),
    path("<survey_id:pk>/results/", views.survey_results, name="survey-results"),
    path("<survey_id:pk>/results.csv", views.survey_results_csv, name="survey-results-csv"),
]
