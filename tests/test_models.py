import pytest
from django.core.exceptions import ValidationError

from apis.models import API, Application
from apis.services import create_api


@pytest.mark.parametrize(
    "identifier",
    [
        "https://ping.example.com/\u200bapi",  # zero-width space
        "https://ping.example.com/api\u202e",  # right-to-left override
        "https://ping.example.com/api\x00",
        "https://ping.example.com/api ",
        "https://ping.example.com/api#v1",
    ],
)
def test_api_identifier_rejected(db, identifier):
    with pytest.raises(ValidationError) as raised:
        API(name="API", identifier=identifier).full_clean()
    assert "identifier" in raised.value.message_dict


@pytest.mark.parametrize(
    "identifier", ["urn:ping", "ping-api", "https://ping.example.com/api?v=1"]
)
def test_api_identifier_accepted(db, identifier):
    API(name="API", identifier=identifier).full_clean()


def test_api_identifier_unique_ignoring_case(db):
    create_api(name="Lower", identifier="https://ping.example.com/api")
    with pytest.raises(ValidationError) as raised:
        API(name="Upper", identifier="HTTPS://PING.EXAMPLE.COM/api").full_clean()
    assert "ignoring case" in str(raised.value)


@pytest.mark.parametrize("name", ["evil\u202eexe.txt", "tab\tname", "zero\u200bwidth"])
def test_display_name_rejects_invisible_characters(db, name):
    with pytest.raises(ValidationError):
        Application(name=name, client_secret_hash="x").full_clean()


def test_display_name_accepts_unicode_letters(db):
    Application(name="Facturación 請求", client_secret_hash="x").full_clean()
