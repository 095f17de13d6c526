"""A returned (or new, or withdrawn) application is edited in draft and resubmitted; nothing else
can be edited, and an invalid edit changes nothing."""

from decimal import Decimal

import pytest

from fmis.indicators.models import Indicator
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord
from fmis.treasury import services
from fmis.treasury.models import PaymentApplication
from fmis.treasury.tests.conftest import apply
from fmis.treasury.tests.test_screens_and_api import client_for, make_user_like

pytestmark = pytest.mark.django_db
D = Decimal

FIELDS = {"payee_name": "某某科技有限公司", "payee_account": "6228480012345678", "payee_bank": "中国工商银行某支行",
          "amount": D("250.00"), "settle_mode": "1", "purpose": "办公设备维修"}


def test_a_returned_application_is_edited_and_resubmitted_with_the_new_amount_reserved(world):
    w = world
    app = apply(w, "300.00")
    services.submit_application(application_id=app.pk, user=w.accountant)
    services.return_application(application_id=app.pk, user=w.treasurer, reason="金额有误")
    services.update_application(user=w.accountant, application_id=app.pk, **FIELDS)
    app.refresh_from_db()
    assert (app.status, app.amount, app.payee_name, app.return_reason) == ("draft", D("250.00"), "某某科技有限公司",
                                                                           "金额有误")
    log = AuditRecord.objects.filter(action="treasury.application.update").get()
    assert log.before["amount"] == "300.00" and log.after["amount"] == "250.00"
    services.submit_application(application_id=app.pk, user=w.accountant)
    ind = Indicator.objects.get(pk=w.indicator.pk)
    assert ind.reserved == D("250.00")


def test_only_a_draft_can_be_edited_and_a_bad_edit_changes_nothing(world):
    w = world
    app = apply(w, "300.00")
    with pytest.raises(ValidationFailed) as e:
        services.update_application(user=w.accountant, application_id=app.pk, **{**FIELDS, "payee_account": "12"})
    assert e.value.field == "payee_account"
    with pytest.raises(ValidationFailed) as e:
        services.update_application(user=w.accountant, application_id=app.pk, **{**FIELDS, "amount": D("0")})
    app.refresh_from_db()
    assert app.amount == D("300.00") and not AuditRecord.objects.filter(action="treasury.application.update").exists()
    services.submit_application(application_id=app.pk, user=w.accountant)
    with pytest.raises(Conflict):
        services.update_application(user=w.accountant, application_id=app.pk, **FIELDS)
    assert PaymentApplication.objects.get(pk=app.pk).amount == D("300.00")


def test_an_edit_over_the_available_amount_is_refused(world):
    w = world
    app = apply(w, "300.00")
    with pytest.raises(Conflict) as e:
        services.update_application(user=w.accountant, application_id=app.pk, **{**FIELDS, "amount": D("10000.01")})
    assert e.value.code == "indicator.insufficient"
    assert PaymentApplication.objects.get(pk=app.pk).amount == D("300.00")


def test_others_cannot_edit_and_the_screen_and_api_edit(world):
    w = world
    app = apply(w, "300.00")
    with pytest.raises(PermissionDenied):
        services.update_application(user=w.banker, application_id=app.pk, **FIELDS)
    other = make_user_like(w.accountant, "acc_other")
    other.agency = w.other_agency
    other.save()
    with pytest.raises(NotFound):
        services.update_application(user=other, application_id=app.pk, **FIELDS)
    c = client_for(w.accountant)
    page = c.get(f"/treasury/applications/{app.pk}/")
    assert b'data-testid="edit-application"' in page.content
    r = c.post(f"/treasury/applications/{app.pk}/edit/", {**FIELDS, "amount": "260.00", "plan_month": 5})
    assert r.status_code == 302
    assert PaymentApplication.objects.get(pk=app.pk).amount == D("260.00")
    r = c.post(f"/treasury/applications/{app.pk}/edit/", {**FIELDS, "payee_account": "abc", "plan_month": 5})
    assert r.status_code == 200 and "收款人账号格式不正确" in r.content.decode()
    r = c.put(f"/api/v1/treasury/applications/{app.pk}", {**FIELDS, "amount": "270.00"},
              content_type="application/json")
    assert r.status_code == 200 and r.json()["amount"] in ("270.00", 270.0, "270")
    services.submit_application(application_id=app.pk, user=w.accountant)
    r = c.put(f"/api/v1/treasury/applications/{app.pk}", {**FIELDS, "amount": "280.00"},
              content_type="application/json")
    assert r.status_code == 409
    assert b'data-testid="edit-application"' not in c.get(f"/treasury/applications/{app.pk}/").content


def test_the_voucher_page_shows_the_applications_attachments_to_those_who_may_see_the_application(
        world, settings, tmp_path, make_role):
    from django.core.files.base import ContentFile

    from fmis.iam.models import UserRole
    from fmis.platform.attachments import services as attachments
    from fmis.platform.xlsx import build_workbook

    settings.MEDIA_ROOT = tmp_path / "media"
    w = world
    files = make_role("files", ["attachments.view", "attachments.upload", "treasury.voucher.view"])
    UserRole.objects.create(user=w.accountant, role=files)
    UserRole.objects.create(user=w.banker, role=files)
    app = apply(w, "120.00")
    attachments.upload(document=app, user=w.accountant, doc_type="treasury.payment_application",
                       file=ContentFile(build_workbook(["项目", "金额"], [["维修费", "120.00"]]), name="维修合同清单.xlsx"))
    services.submit_application(application_id=app.pk, user=w.accountant)
    services.approve_application(application_id=app.pk, user=w.treasurer)
    voucher = PaymentApplication.objects.get(pk=app.pk).voucher
    page = client_for(w.accountant).get(f"/treasury/vouchers/{voucher.pk}/").content.decode()
    assert 'data-testid="voucher-attachments"' in page and "维修合同清单.xlsx" in page
    r = client_for(w.banker).get(f"/treasury/vouchers/{voucher.pk}/")
    assert r.status_code == 200 and voucher.number in r.content.decode()
    assert "维修合同清单.xlsx" not in r.content.decode()  # the bank may not see the unit's application
