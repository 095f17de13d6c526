"""Resident identity numbers (GB 11643): validate, mask, digest. The full number is never stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from django.conf import settings

from fmis.platform.errors import ValidationFailed

_ID_RE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalize(value: str) -> str:
    return (value or "").strip().upper()


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate(value: str, *, field: str = "id_number") -> str:
    """The normalized 18-character number, or ValidationFailed naming `field`."""
    number = normalize(value)
    if not _ID_RE.match(number):
        raise ValidationFailed("basicinfo.bad_id_number", "身份证号应为 18 位（前 17 位数字，末位数字或 X）", field=field)
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationFailed("basicinfo.bad_id_number", "身份证号中的出生日期不正确", field=field) from None
    if check_digit(number[:17]) != number[17]:
        raise ValidationFailed("basicinfo.bad_id_number", "身份证号校验位不正确", field=field)
    return number


def mask(number: str) -> str:
    """3701**********1234: the first four and the last four characters."""
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


def digest(number: str) -> str:
    """A keyed digest that recognises the same number again without revealing it."""
    key = f"fmis.basicinfo.id:{settings.SECRET_KEY}".encode()
    return hmac.new(key, normalize(number).encode(), hashlib.sha256).hexdigest()
