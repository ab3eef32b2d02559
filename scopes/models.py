from django.db import models

from scopes.validators import validate_scope_value


class AbstractScope(models.Model):
    """
    A permission that tokens may carry, such as `read:messages`.

    Abstract, so that the `scopes` app creates no table: a registry subclasses
    it and adds the link to the API that defines the scope.
    """

    value = models.CharField(
        max_length=280,
        validators=[validate_scope_value],
        help_text="The scope as tokens carry it, such as read:messages.",
    )
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.value
