"""How an SMS text is encoded and how many segments (billed parts) it takes.

A text made only of the GSM 03.38 alphabet goes as GSM-7: 160 septets in one segment, 153 per
segment when it is split (the rest carries the header that joins the parts). The characters of
the extension table (``€ [ ] { } \\ ^ ~ |`` and form feed) take two septets each. Any other
character (``ç``, ``á``, a typographic apostrophe, an emoji …) makes the whole text UCS-2: 70
UTF-16 code units in one segment, 67 per segment when split, and a character outside the Basic
Multilingual Plane (most emoji) takes two code units.

A character is never cut in half between two segments (phones would show garbage), so a
two-septet character or a surrogate pair at the end of a segment moves to the next one: the count
is sometimes one more than ``ceil(length / 153)``.
"""

from __future__ import annotations

from typing import NamedTuple

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 basic character set (without the escape to the extension table, 0x1B).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as the escape septet and one more.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {GSM7: 160, UCS2: 70}
"""Most units a text fits in as one segment."""
PART = {GSM7: 153, UCS2: 67}
"""Most units per segment of a text that is split."""


class Segmentation(NamedTuple):
    encoding: str
    """``GSM-7`` or ``UCS-2``."""
    segments: int
    """Segments the text is sent (and billed) as; 0 for an empty text."""
    length: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _units(text: str, encoding: str) -> list[int]:
    """What each character takes: septets (GSM-7) or UTF-16 code units (UCS-2)."""
    if encoding == GSM7:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def count(text: str) -> Segmentation:
    """The encoding, number of segments and length of ``text``."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    units = _units(text, encoding)
    length = sum(units)
    if length == 0:
        return Segmentation(encoding, 0, 0)
    if length <= SINGLE[encoding]:
        return Segmentation(encoding, 1, length)
    part = PART[encoding]
    segments, used = 1, 0
    for size in units:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return Segmentation(encoding, segments, length)
