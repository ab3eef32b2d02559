"""Error pages: JSON for API clients, Django's HTML pages for the admin."""

from django.http import JsonResponse
from django.views import defaults


def _wants_html(request):
    return request.path.startswith("/admin/")


def bad_request(request, exception):
    if _wants_html(request):
        return defaults.bad_request(request, exception)
    return JsonResponse(
        {"detail": "The request is malformed.", "code": "bad_request"}, status=400
    )


def not_found(request, exception):
    if _wants_html(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse(
        {"detail": f"No endpoint at {request.path}.", "code": "not_found"}, status=404
    )


def server_error(request):
    if _wants_html(request):
        return defaults.server_error(request)
    return JsonResponse(
        {"detail": "The server failed to handle the request.", "code": "server_error"},
        status=500,
    )
