from django.db import models


class Message(models.Model):
    """A message posted to the sample ping API."""

    text = models.CharField(max_length=500)
    client_id = models.CharField(
        max_length=200, help_text="The client that posted the message."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.text
