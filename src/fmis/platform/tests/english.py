"""Helpers for the tests that read a module's screens in English: what a reader sees on a page,
the Chinese left on it once data is set aside, and a client whose language cookie is English."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.conf import settings
from django.test import Client

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
# The language switch names each language in that language.
LANGUAGE_NAMES = {"简体中文"}


class _Text(HTMLParser):
    """What a reader sees: text outside script/style, plus placeholders, titles and aria labels."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def chinese_left(html: str, data: set[str]) -> set[str]:
    """Chinese runs on the page that are neither data nor the language switch's names."""
    text = visible_text(html)
    for value in sorted(data | LANGUAGE_NAMES, key=len, reverse=True):
        text = text.replace(value, " ")
    return set(CJK.findall(text))


def english_client(user) -> Client:
    c = Client()
    c.force_login(user)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return c
