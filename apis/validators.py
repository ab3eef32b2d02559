import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError


def _has_invisible_characters(value):
    # Control (Cc) and format (Cf) characters: NUL, escapes, zero-width spaces
    # and the bidirectional overrides that make text read as something else.
    return any(unicodedata.category(character) in {"Cc", "Cf"} for character in value)


def validate_display_name(value):
    if "<" in value or ">" in value:
        raise ValidationError(
            "The name may not contain < or >.", code="invalid_name_character"
        )
    if _has_invisible_characters(value):
        raise ValidationError(
            "The name may not contain control or invisible characters.",
            code="invisible_character",
        )
    if value != value.strip():
        raise ValidationError(
            "The name may not start or end with spaces.", code="surrounding_space"
        )


def validate_api_identifier(value):
    # The identifier is compared byte for byte with `aud`, so invisible
    # differences such as a trailing or zero-width space would lock clients out.
    if any(character.isspace() for character in value):
        raise ValidationError(
            "The identifier may not contain spaces.", code="identifier_space"
        )
    if _has_invisible_characters(value):
        raise ValidationError(
            "The identifier may not contain control or invisible characters.",
            code="invisible_character",
        )
    # RFC 8707 section 2: a `resource` has no fragment, so an identifier with
    # one could be requested only as `audience`.
    if urlsplit(value).scheme and "#" in value:
        raise ValidationError(
            "A URI identifier may not have a fragment (#).", code="identifier_fragment"
        )
