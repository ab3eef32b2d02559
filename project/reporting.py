"""Error reports that hide secrets under DEBUG too."""

from django.views.debug import SafeExceptionReporterFilter


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """
    Django's filter, active also when DEBUG is on, so that the debug page
    hides the variables that `sensitive_variables` marks (client secrets,
    codes, tokens) and the POST fields that `sensitive_post_parameters` marks.
    """

    def is_active(self, request):
        return True
