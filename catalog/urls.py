from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("publish/", views.publish, name="publish"),
    path("uploads/<uuid:pk>/", views.upload_status, name="upload"),
    path("<int:pk>/", views.dataset_detail, name="dataset"),
    path("<int:pk>/edit/", views.edit, name="dataset-edit"),
    path("<int:pk>/versions/new/", views.new_version, name="dataset-new-version"),
    path("<int:pk>/withdraw/", views.withdraw, name="dataset-withdraw"),
    path("<int:pk>/suspend/", views.suspend, name="dataset-suspend"),
    path("<int:pk>/restore/", views.restore, name="dataset-restore"),
]
