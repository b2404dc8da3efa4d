"""The project's URLs plus the telehealth and calendar pages, until config/urls.py includes them."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("", include("telehealth.urls")),
    path("", include("clinic.views.calendar")),
]
