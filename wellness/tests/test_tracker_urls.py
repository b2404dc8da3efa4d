"""URLconf for the tracker tests: the project's URLs plus wellness.urls (harmless once
config/urls.py includes wellness.urls itself — the first match wins)."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("", include("wellness.urls"))]
