from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """
    Render every API error as `{"detail": sentence, "code": code}`.

    Validation errors keep DRF's per-field shape. An `InsufficientScope` also
    lists the required and the missing scopes.
    """
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc.detail, str):
        response.data = {"detail": str(exc.detail), "code": exc.detail.code}
        response.data.update(getattr(exc, "extra", {}))
    return response
