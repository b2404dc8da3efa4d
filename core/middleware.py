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
