import re

from django.core.exceptions import ValidationError

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def validate_display_name(value):
    if "<" in value or ">" in value:
        raise ValidationError(
            "The name may not contain < or >.", code="invalid_name_character"
        )
    if _CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            "The name may not contain control characters.", code="control_character"
        )
    if value != value.strip():
        raise ValidationError(
            "The name may not start or end with spaces.", code="surrounding_space"
        )


def validate_api_identifier(value):
    # The identifier is compared byte for byte with `aud`, so invisible
    # differences such as a trailing space would lock clients out.
    if any(character.isspace() for character in value):
        raise ValidationError(
            "The identifier may not contain spaces.", code="identifier_space"
        )
    if _CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            "The identifier may not contain control characters.",
            code="control_character",
        )
