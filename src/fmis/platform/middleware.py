"""Language: Chinese unless the user chose another language with the switch (a cookie).

Django's LocaleMiddleware would follow the browser's Accept-Language; on a finance department's
intranet the interface is Chinese by default whatever the browser says.
"""

from django.conf import settings
from django.utils import translation


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if lang not in self.supported:
            lang = settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = lang
        with translation.override(lang):  # restores the previous language after the response
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response
