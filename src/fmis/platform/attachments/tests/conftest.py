import pytest

from fmis.platform.workflow.tests.fixtures import doc_type, fast_password_hashing, recorder, world  # noqa: F401


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FMIS_ATTACHMENT_MAX_BYTES = 64 * 1024
    return settings.MEDIA_ROOT
