from rest_framework import serializers

from ping.models import Message


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "text", "client_id", "created_at"]
        read_only_fields = ["id", "client_id", "created_at"]
        extra_kwargs = {"text": {"trim_whitespace": True}}
