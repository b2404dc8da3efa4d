"""URLconf for the chat tests: the project's URLs plus the chat pages, until config/urls.py
includes telehealth.urls_chat (then this is a harmless duplicate)."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("", include("telehealth.urls_chat"))]
