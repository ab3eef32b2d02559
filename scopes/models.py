from django.db import models

from scopes.validators import validate_scope_value


class Scope(models.Model):
    """A permission that an API defines and that tokens for it may carry."""

    api = models.ForeignKey(
        "apis.API", on_delete=models.CASCADE, related_name="scopes", verbose_name="API"
    )
    value = models.CharField(
        max_length=280,
        validators=[validate_scope_value],
        help_text="The scope as tokens carry it, such as read:messages.",
    )
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["api", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["api", "value"], name="scope_value_unique_per_api"
            )
        ]

    def __str__(self):
        return self.value
