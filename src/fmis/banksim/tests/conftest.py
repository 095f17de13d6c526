from fmis.treasury.tests.conftest import banksim, world  # noqa: F401 - the treasury's test world, reused here
