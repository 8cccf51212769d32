"""Signature maths against known vectors (computed independently with openssl)."""

from __future__ import annotations

import base64
import json

import pytest

from nibog.payments.gateways import InvalidSignature, get_gateway
from nibog.payments.gateways.phonepe import callback_checksum, request_checksum
from nibog.payments.gateways.razorpay import order_signature, webhook_signature

PHONEPE_SALT = "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"  # PhonePe's published UAT salt key
PAY_PAYLOAD = (
    "eyJtZXJjaGFudElkIjoiUEdURVNUUEFZVUFUIiwibWVyY2hhbnRUcmFuc2FjdGlvbklkIjoiTVQ3ODUwNTkwMDY4"
    "MTg4MTA0IiwiYW1vdW50IjoxMDAwMH0="
)


def test_razorpay_checkout_signature_vector():
    assert order_signature(
        "order_IluGWxBm9U8zJ8", "pay_IluGWxBm9U8zJ8", "EnLs21M47BllR3X8PSFtjtbd"
    ) == ("87d2958037422750818c4ccd4755654b0a99665c5505ce7aa616b35a075e196f")


def test_razorpay_webhook_signature_vector():
    assert webhook_signature(b'{"event":"payment.captured"}', "whsec_test") == (
        "4f463a57dd128675850163391f0311888616d57bccca75c774c9cdb28134f851"
    )


def test_phonepe_checksum_vectors():
    assert base64.b64decode(PAY_PAYLOAD).startswith(b'{"merchantId":"PGTESTPAYUAT"')
    assert request_checksum(PAY_PAYLOAD, "/pg/v1/pay", PHONEPE_SALT, "1") == (
        "eb2ac8269c537a2c2cd1a3e68b867dfa4c60a43b7543293893e29c64410a3203###1"
    )
    assert callback_checksum(PAY_PAYLOAD, PHONEPE_SALT, "1") == (
        "8ec58d1f5f71d1171c15c1c7d2c9a3340eb5b39587a55fe9f43620b8e4711bac###1"
    )
    # The status API signs the path alone.
    assert request_checksum(
        "", "/pg/v1/status/PGTESTPAYUAT/MT7850590068188104", PHONEPE_SALT, "1"
    ) == ("95c6d60f014b7190aa417083aca2489bb5b0a729d0421c17dea19f5913e6d741###1")


def test_sandbox_verifies_exactly_what_razorpay_would(app):
    gateway = get_gateway("sandbox")
    secret = app.config["RAZORPAY_KEY_SECRET"]
    good = order_signature("order_A", "pay_B", secret)
    assert gateway.verify_payment_signature("order_A", "pay_B", good)
    assert not gateway.verify_payment_signature("order_A", "pay_C", good)
    assert not gateway.verify_payment_signature("order_A", "pay_B", good.upper())
    assert not gateway.verify_payment_signature("order_A", "pay_B", "")

    body = b'{"event":"payment.failed","payload":{}}'
    headers = {
        "X-Razorpay-Signature": webhook_signature(body, app.config["RAZORPAY_WEBHOOK_SECRET"]),
        "X-Razorpay-Event-Id": "evt_1",
    }
    event = gateway.parse_webhook(body, headers)
    assert (event.event_id, event.kind) == ("evt_1", "payment_failed")
    with pytest.raises(InvalidSignature):
        gateway.parse_webhook(body + b" ", headers)


def test_phonepe_callback_verification(app, monkeypatch):
    monkeypatch.setitem(app.config, "PHONEPE_API", "v1")
    monkeypatch.setitem(app.config, "PHONEPE_SALT_KEY", PHONEPE_SALT)
    monkeypatch.setitem(app.config, "PHONEPE_SALT_INDEX", "1")
    gateway = get_gateway("phonepe")
    body = json.dumps({"response": PAY_PAYLOAD}).encode()
    good = {"X-VERIFY": callback_checksum(PAY_PAYLOAD, PHONEPE_SALT, "1")}
    event = gateway.parse_webhook(body, good)
    # Verified and decoded; it carries no payment outcome, so it is not acted on.
    assert event.payload["merchantTransactionId"] == "MT7850590068188104"
    assert event.kind == "ignored"
    for headers in (
        {},
        {"X-VERIFY": good["X-VERIFY"].replace("###1", "###2")},
        {"X-VERIFY": request_checksum(PAY_PAYLOAD, "/pg/v1/pay", PHONEPE_SALT, "1")},
    ):
        with pytest.raises(InvalidSignature):
            gateway.parse_webhook(body, headers)
    with pytest.raises(InvalidSignature):
        gateway.parse_webhook(b'{"response": 5}', good)


@pytest.mark.parametrize("provider", ["razorpay", "sandbox"])
def test_an_unset_secret_verifies_nothing(app, monkeypatch, provider):
    """Production leaves a secret empty when it is not configured: an HMAC under an empty key
    is anyone's to compute, so a webhook or payment signed with one is refused."""
    monkeypatch.setitem(app.config, "RAZORPAY_WEBHOOK_SECRET", "")
    monkeypatch.setitem(app.config, "RAZORPAY_KEY_SECRET", "")
    gateway = get_gateway(provider)
    body = b'{"event":"payment.captured","payload":{}}'
    with pytest.raises(InvalidSignature):
        gateway.parse_webhook(body, {"X-Razorpay-Signature": webhook_signature(body, "")})
    assert not gateway.verify_payment_signature(
        "order_A", "pay_B", order_signature("order_A", "pay_B", "")
    )


def test_phonepe_without_a_salt_key_verifies_nothing(app, monkeypatch):
    monkeypatch.setitem(app.config, "PHONEPE_API", "v1")
    monkeypatch.setitem(app.config, "PHONEPE_SALT_KEY", "")
    gateway = get_gateway("phonepe")
    body = json.dumps({"response": PAY_PAYLOAD}).encode()
    with pytest.raises(InvalidSignature):
        gateway.parse_webhook(body, {"X-VERIFY": callback_checksum(PAY_PAYLOAD, "", "1")})


def test_production_has_no_public_default_secrets():
    import os

    from nibog.config import DevelopmentConfig, ProductionConfig

    for name in ("RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET", "NOTIFY_WEBHOOK_SECRET"):
        # Only what the environment gives: never the development default written in the code.
        assert getattr(ProductionConfig, name) == os.environ.get(name, "")
        assert getattr(DevelopmentConfig, name)  # make run still works without any
