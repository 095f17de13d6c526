from fmis.platform.workflow.tests.fixtures import doc_type, fast_password_hashing, recorder, world  # noqa: F401
