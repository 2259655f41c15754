"""Phone numbers as SMS addresses: normalised to E.164 (``+34612345678``) with ``phonenumbers``.

A number written nationally (``612 34 56 78``) is read with the contact's country, else with the
setting ``SMS_DEFAULT_REGION``. A number that cannot be an SMS address is a ``PhoneError`` whose
message says why, in words a shop's staff can act on.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact


class PhoneError(ValueError):
    """Not a phone number SMS can go to; the message is the reason."""


def region_for(contact: Contact) -> str:
    """The region national numbers of this contact are read with ('' if none is known)."""
    return (contact.country or conf.get("SMS_DEFAULT_REGION") or "").strip().upper()


def normalise(raw: str, region: str = "") -> str:
    """``raw`` in E.164; ``region`` (ISO 3166 code) reads numbers written without ``+``.

    Raises PhoneError with the reason.
    """
    text = (raw or "").strip()
    if not text:
        raise PhoneError("no phone number")
    region = (region or "").strip().upper()
    international = text.startswith("+")
    if not international and region and not phonenumbers.country_code_for_region(region):
        raise PhoneError(f"{region!r} is not a country to read the national number {text} with")
    try:
        number = phonenumbers.parse(text, region or None)
    except NumberParseException as exc:
        raise PhoneError(_parse_reason(exc, text, region, international)) from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        raise PhoneError(f"{text} is too short")
    if possible == ValidationResult.TOO_LONG:
        raise PhoneError(f"{text} is too long")
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        raise PhoneError(f"{text} has no valid country calling code")
    number_region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    if possible != ValidationResult.IS_POSSIBLE:
        raise PhoneError(f"{text} has the wrong length for {number_region}")
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"{text} is not a valid number for {number_region}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _parse_reason(exc: NumberParseException, text: str, region: str, international: bool) -> str:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        if international or region:
            return f"{text} has no valid country calling code"
        return (
            f"no country to read the national number {text} with: the contact has no country "
            "and SMS_DEFAULT_REGION is not set (or write the number with +country code)"
        )
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return f"{text} is too short"
    if kind == NumberParseException.TOO_LONG:
        return f"{text} is too long"
    return f"{text!r} is not a phone number"


def national_digits(e164: str) -> str:
    """The national significant number of an E.164 number (``612345678`` of ``+34612345678``):
    the digits every way of writing that number ends with."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException as exc:
        raise PhoneError(_parse_reason(exc, e164, "", True)) from exc
    return phonenumbers.national_significant_number(number)


def for_contact(contact: Contact) -> str:
    """The contact's phone in E.164; raises PhoneError (also when the contact has none)."""
    if not contact.phone.strip():
        raise PhoneError("the contact has no phone number")
    return normalise(contact.phone, region_for(contact))


def address(contact: Contact) -> str | None:
    """The contact's phone in E.164, or None when it has none or it is not a valid number."""
    try:
        return for_contact(contact)
    except PhoneError:
        return None
