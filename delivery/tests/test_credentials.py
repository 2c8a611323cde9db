"""Checking pasted FCM service-account keys and APNs .p8 keys, without ever quoting them."""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from delivery import credentials
from delivery.credentials import CredentialError
from tests.pushservices.apns import make_signing_key
from tests.pushservices.fcm import new_service_account_key


def service_account(**changes):
    info, _ = new_service_account_key("clarion-test", "push@clarion-test.iam.gserviceaccount.com", "https://t.test/")
    return {**info, **changes}


def pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_a_service_account_key_from_firebase_is_accepted_as_it_is():
    info = service_account()
    assert credentials.parse_service_account(json.dumps(info)) == info


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", '"type" must be "service_account"'),
        (json.dumps(service_account(type="authorized_user")), '"type" must be "service_account"'),
        (json.dumps(service_account(client_email="")), 'no "client_email"'),
        (json.dumps(service_account(client_email="nobody")), "not an email address"),
        (json.dumps(service_account(token_uri=None)), 'no "token_uri"'),
        (
            json.dumps(service_account(private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")),
            "not a PEM",
        ),
    ],
)
def test_a_bad_service_account_key_is_refused_with_a_reason(text, message):
    with pytest.raises(CredentialError) as refused:
        credentials.parse_service_account(text)
    assert refused.value.field == "service_account"
    assert message in refused.value.message


def test_a_refusal_never_quotes_the_key_or_chains_the_parser_error():
    info = service_account()
    lines = info["private_key"].splitlines()
    info["private_key"] = "\n".join(lines[:10] + lines[-1:])  # a paste that lost half the key
    with pytest.raises(CredentialError) as refused:
        credentials.parse_service_account(json.dumps(info))
    assert info["private_key"][40:80] not in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_the_project_id_comes_from_the_key_file_when_left_empty():
    assert credentials.check_project_id("", service_account(project_id="shop-app-1")) == "shop-app-1"
    assert credentials.check_project_id(" other-app ", service_account()) == "other-app"


@pytest.mark.parametrize("project_id", ["", "Shop", "ab", "shop_app", "-shop-app"])
def test_a_project_id_firebase_would_not_give_is_refused(project_id):
    with pytest.raises(CredentialError) as refused:
        credentials.check_project_id(project_id, {"project_id": ""})
    assert refused.value.field == "project_id"


def test_an_apns_p8_key_is_accepted_and_stored_as_pem_text():
    key = make_signing_key()
    assert credentials.parse_apns_key("\n" + key + "\n\n") == key.strip() + "\n"
    assert credentials.parse_apns_key(key.replace("\n", "\r\n")) == key.strip() + "\n"  # as a browser posts it


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "EC P-256"),
        (pem(ec.generate_private_key(ec.SECP384R1())), "EC P-256"),
        ("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", "not a PEM private key"),
        ("MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg", "not a PEM private key"),
    ],
)
def test_an_apns_key_that_is_not_p256_is_refused(key, message):
    with pytest.raises(CredentialError) as refused:
        credentials.parse_apns_key(key)
    assert refused.value.field == "private_key"
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("value", "ok"), [("ABCDE12345", True), (" ABCDE12345 ", True), ("abcde12345", False), ("ABC", False)]
)
def test_apple_team_and_key_ids_are_ten_capitals_and_digits(value, ok):
    if ok:
        assert credentials.check_apple_id(value, "team_id", "team id") == value.strip()
    else:
        with pytest.raises(CredentialError, match="10 capital letters"):
            credentials.check_apple_id(value, "team_id", "team id")


@pytest.mark.parametrize(("value", "ok"), [("com.example.shop", True), ("shop", False), ("com.example/shop", False)])
def test_the_topic_is_a_bundle_id(value, ok):
    if ok:
        assert credentials.check_bundle_id(value) == value
    else:
        with pytest.raises(CredentialError, match="bundle id"):
            credentials.check_bundle_id(value)
