import re

from django.core.exceptions import ValidationError

# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), which is
# printable ASCII without space, double quote and backslash.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")

# OpenID Connect Core section 5.4 and 11 give these scope values a meaning of
# their own, so an API may not define them.
RESERVED_SCOPES = frozenset(
    {"openid", "profile", "email", "address", "phone", "offline_access"}
)


def validate_scope_value(value):
    if not SCOPE_TOKEN.fullmatch(value):
        raise ValidationError(
            "A scope may contain only printable ASCII characters without spaces, "
            'double quotes (") or backslashes (\\).',
            code="invalid_scope_value",
        )
    if value in RESERVED_SCOPES:
        raise ValidationError(
            "%(value)s is reserved by OpenID Connect; choose another name, such "
            "as read:%(value)s.",
            code="reserved_scope",
            params={"value": value},
        )
