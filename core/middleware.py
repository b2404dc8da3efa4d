from django.core.exceptions import BadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from core.errors import NotFound, PermissionDenied


class DomainErrorMiddleware:
    """Pages: a selector's NotFound becomes the 404 page and a service's PermissionDenied the 403
    page, so a view that lets one escape never answers 500. (The API has its own handlers.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, PermissionDenied):
            raise DjangoPermissionDenied(exception.message) from exception
        return None


class RejectNulMiddleware:
    """A NUL character in the path or the query string is a 400 before any view runs: Postgres
    refuses it in text, so a search or a filter that passed it on would answer 500. (Forms reject
    it field by field; the API answers 422 naming the parameter, see core.schemas.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/") and (
                "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "")
                or any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values)):
            raise BadRequest("NUL characters are not allowed in the address.")
        return self.get_response(request)
