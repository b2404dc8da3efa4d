"""The project's URLs plus the call page, until config/urls.py includes telehealth.urls_calls."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("", include("telehealth.urls_calls")),
]
