import unicodedata

from rest_framework import serializers

from ping.models import Message

# Line breaks and tabs are text; other control and format characters (escape
# sequences, bidirectional overrides) would make a message display falsely.
_ALLOWED_CONTROLS = {"\n", "\t"}


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "text", "client_id", "created_at"]
        read_only_fields = ["id", "client_id", "created_at"]

    def to_internal_value(self, data):
        # DRF's CharField turns numbers into strings; a message must be text.
        text = data.get("text") if isinstance(data, dict) else None
        if text is not None and not isinstance(text, str):
            raise serializers.ValidationError({"text": ["Must be a string."]})
        return super().to_internal_value(data)

    def validate_text(self, value):
        for character in value:
            if character in _ALLOWED_CONTROLS:
                continue
            if unicodedata.category(character) in {"Cc", "Cf"}:
                raise serializers.ValidationError(
                    f"Control and invisible characters such as "
                    f"U+{ord(character):04X} are not allowed."
                )
        return value


class GreetingSerializer(serializers.Serializer):
    message = serializers.CharField()


class SecureGreetingSerializer(GreetingSerializer):
    client_id = serializers.CharField(
        allow_null=True, help_text="The client id of the token's application."
    )
