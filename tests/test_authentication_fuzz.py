"""
Property tests: whatever arrives in the Authorization header, the outcome is
success or a 400/401 with a standard code and a Bearer challenge.
"""

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import bearer

SECURE = "/api/ping/secure"
STANDARD_ERRORS = {
    (401, "invalid_token"),
    (401, "not_authenticated"),
    (400, "invalid_request"),
}
B64TOKEN_ALPHABET = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="
)

fuzz = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
header_names = st.sampled_from(
    ["alg", "kid", "typ", "crit", "jku", "jwk", "x5u", "enc"]
)
claim_names = st.sampled_from(
    ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "scope", "permissions", "scp"]
)


def segment(value):
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_standard_outcome(response):
    if response.status_code == 200:
        return
    body = response.json()
    assert (response.status_code, body["code"]) in STANDARD_ERRORS, body
    assert response["WWW-Authenticate"].startswith('Bearer realm="gatehouse"')


@pytest.fixture
def ready(client, ping_api):
    # Load the key ring first, so examples measure validation alone.
    client.get("/.well-known/jwks.json")
    return client


@fuzz
@given(header=st.text(max_size=200))
def test_any_authorization_header(ready, header):
    response = ready.get(SECURE, HTTP_AUTHORIZATION=header)
    assert_standard_outcome(response)


@fuzz
@given(token=st.text(alphabet=B64TOKEN_ALPHABET, min_size=1, max_size=400))
def test_any_b64token(ready, token):
    assert_standard_outcome(ready.get(SECURE, **bearer(token)))


@fuzz
@given(
    header=st.dictionaries(header_names, json_values, max_size=5),
    claims=st.dictionaries(claim_names, json_values, max_size=8),
    signature=st.binary(max_size=300),
)
def test_structured_tokens(ready, header, claims, signature):
    token = f"{segment(header)}.{segment(claims)}.{segment(signature)}"
    assert_standard_outcome(ready.get(SECURE, **bearer(token)))


@fuzz
@given(data=st.data())
def test_mutated_valid_token(ready, make_token, data):
    token = make_token()
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(B64TOKEN_ALPHABET))
    mutated = token[:index] + replacement + token[index + 1 :]
    response = ready.get(SECURE, **bearer(mutated))
    assert_standard_outcome(response)
    if mutated != token and response.status_code == 200:
        # A change in the last character can fall in the base64 padding bits,
        # which decode to the same signature bytes.
        assert index == len(token) - 1
