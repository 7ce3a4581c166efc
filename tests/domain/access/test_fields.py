from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.access.fields import (
    FieldMode,
    FieldPolicy,
    FieldPolicyError,
    apply_read,
    check_write,
    mask_email,
    mask_phone,
)

POLICY = FieldPolicy.parse(
    {
        "email": "masked",
        "phone": "hidden",
        "first_name": "read_only",
        "attributes.ssn": "hidden",
        "attributes.*": "masked",
    }
)


def test_masks_email_phone_and_text() -> None:
    assert mask_email("jane@example.com") == "j***@example.com"
    assert mask_phone("+33612345678") == "+33*******78"
    contact = {"id": "ct_1", "email": "jane@example.com", "phone": "+1555", "first_name": "Jane",
               "attributes": {"ssn": "123", "plan": "pro"}}  # fmt: skip
    read = apply_read(POLICY, contact)
    assert read == {"id": "ct_1", "email": "j***@example.com", "first_name": "Jane", "attributes": {"plan": "p***"}}


def test_check_write_names_restricted_fields() -> None:
    violations = check_write(POLICY, ["last_name", "first_name", "attributes.ssn"])
    assert [(v.field, v.mode) for v in violations] == [
        ("first_name", FieldMode.READ_ONLY),
        ("attributes.ssn", FieldMode.HIDDEN),
    ]
    assert check_write(FieldPolicy(), ["email"]) == []


def test_unknown_field_or_mode_is_refused() -> None:
    with pytest.raises(FieldPolicyError):
        FieldPolicy.parse({"password": "hidden"})
    with pytest.raises(FieldPolicyError):
        FieldPolicy.parse({"email": "secret"})


@given(st.emails())
def test_masked_email_keeps_domain_and_never_the_local_part(email: str) -> None:
    local, _, domain = email.rpartition("@")
    masked = mask_email(email)
    assert masked.endswith("@" + domain)
    assert masked.startswith(local[0] + "***")
