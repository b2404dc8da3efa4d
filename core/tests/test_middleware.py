import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from core.errors import NotFound, PermissionDenied
from core.middleware import DomainErrorMiddleware


@pytest.mark.parametrize("error, status", [(NotFound("gone"), 404), (PermissionDenied("no"), 403)])
def test_domain_errors_escaping_a_page_become_404_or_403(client, settings, error, status):
    from django.urls import path

    def view(request):
        raise error

    urlconf = type("urls", (), {"urlpatterns": [path("boom/", view)]})
    settings.ROOT_URLCONF = urlconf
    assert client.get("/boom/").status_code == status


def test_other_exceptions_pass_through():
    middleware = DomainErrorMiddleware(lambda r: HttpResponse())
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("x")) is None
