import hashlib
import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fmis.platform.attachments import selectors, services
from fmis.platform.attachments.models import Attachment
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord
from fmis.platform.workflow import services as wf
from fmis.platform.workflow.tests.fixtures import DOC

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20) + b"\xff\xd9"


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def xlsx_bytes() -> bytes:
    from fmis.platform.xlsx import build_workbook

    return build_workbook(["项目", "金额"], [["办公费", "100.00"]])


DOCX = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
OFD = zip_bytes({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>"})
ZIP = zip_bytes({"说明.txt": "说明".encode()})


def put(world, name, data, user=None, doc=None, note=""):
    return services.upload(document=doc or world.docs["a1"], user=user or world.clerk_a,
                           file=ContentFile(data, name=name), note=note)


def stored_files(media):
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_upload_stores_the_file_with_its_checksum_and_audits(world, media):
    att = put(world, "申请书.pdf", PDF, note="盖章版")
    assert (att.filename, att.extension, att.mime, att.size) == ("申请书.pdf", "pdf", "application/pdf", len(PDF))
    assert att.sha256 == hashlib.sha256(PDF).hexdigest()
    path = media / att.storage_name
    assert path.read_bytes() == PDF
    assert path.is_relative_to(media)
    rec = AuditRecord.objects.get(action="attachments.upload")
    assert rec.actor_name == "clerk_a" and rec.after["sha256"] == att.sha256
    assert [a.pk for a in selectors.for_document(user=world.clerk_a, document=world.docs["a1"])] == [att.pk]
    assert list(selectors.for_document(user=world.clerk_b, document=world.docs["a1"])) == []


@pytest.mark.parametrize(("name", "data", "mime"), [
    ("a.pdf", PDF, "application/pdf"),
    ("a.png", PNG, "image/png"),
    ("a.jpg", JPG, "image/jpeg"),
    ("a.JPEG", JPG, "image/jpeg"),
    ("a.xlsx", None, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("a.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a.ofd", OFD, "application/ofd"),
    ("a.zip", ZIP, "application/zip"),
    ("a.txt", "预算说明\n第二行".encode(), "text/plain"),
    ("b.txt", "预算说明".encode("gb18030"), "text/plain"),
])
def test_every_allowed_type_is_recognised_by_content(world, media, name, data, mime):
    att = put(world, name, data if data is not None else xlsx_bytes())
    assert att.mime == mime


@pytest.mark.parametrize(("name", "data", "code"), [
    ("tool.exe", b"MZ\x90\x00", "attachments.type_not_allowed"),
    ("script.html", b"<html></html>", "attachments.type_not_allowed"),
    ("README", b"text", "attachments.type_not_allowed"),
    ("fake.pdf", PNG, "attachments.type_mismatch"),
    ("fake.png", PDF, "attachments.type_mismatch"),
    ("binary.txt", b"abc\x00def", "attachments.type_mismatch"),
    ("book.xlsx", ZIP, "attachments.type_mismatch"),
    ("letter.docx", None, "attachments.type_mismatch"),
    ("broken.zip", b"PK\x03\x04not really a zip", "attachments.type_mismatch"),
    ("empty.pdf", b"", "attachments.empty"),
    ("/etc/../.pdf", PDF, "attachments.bad_filename"),
])
def test_disallowed_or_mislabelled_files_are_refused_and_nothing_is_stored(world, media, name, data, code):
    before = AuditRecord.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        put(world, name, data if data is not None else xlsx_bytes())
    assert exc.value.code == code
    assert exc.value.message
    assert not Attachment.objects.exists()
    assert AuditRecord.objects.count() == before
    assert stored_files(media) == []


def test_size_limit(world, media, settings):
    limit = settings.FMIS_ATTACHMENT_MAX_BYTES
    ok = PDF + b"%" * (limit - len(PDF))
    assert put(world, "max.pdf", ok).size == limit
    with pytest.raises(ValidationFailed) as exc:
        put(world, "big.pdf", ok + b"%")
    assert exc.value.code == "attachments.too_large"
    assert "超过大小限制" in exc.value.message
    assert Attachment.objects.count() == 1
    assert len(stored_files(media)) == 1


def test_download_verifies_the_checksum(world, media):
    att = put(world, "a.pdf", PDF)
    got, fh = services.open_verified(attachment_id=att.pk, user=world.treasury_a)
    assert got.pk == att.pk
    with fh:
        assert fh.read() == PDF
    # same length, different content: tampering is detected and audited
    (media / att.storage_name).write_bytes(PDF.replace(b"1.4", b"1.7"))
    with pytest.raises(Conflict) as exc:
        services.open_verified(attachment_id=att.pk, user=world.treasury_a)
    assert exc.value.code == "attachments.checksum_mismatch"
    rec = AuditRecord.objects.get(action="attachments.tamper_detected")
    assert rec.actor_name == "treasury_a" and rec.after["found_sha256"] != att.sha256
    (media / att.storage_name).unlink()
    with pytest.raises(Conflict) as exc:
        services.open_verified(attachment_id=att.pk, user=world.treasury_a)
    assert exc.value.code == "attachments.file_missing"


def test_download_needs_the_document_in_the_users_view_scope(world, media, client):
    att = put(world, "a.pdf", PDF)
    url = reverse("attachments:download", args=[att.pk])
    for user in (world.treasury_a, world.city, world.clerk_a):
        _, fh = services.open_verified(attachment_id=att.pk, user=user)
        fh.close()
        client.force_login(user)
        resp = client.get(url)
        assert resp.status_code == 200
        assert b"".join(resp.streaming_content) == PDF
        assert "attachment" in resp["Content-Disposition"] and resp["X-Content-Type-Options"] == "nosniff"
    # county B (view function, other county) and another agency's clerk: not found, like a missing id
    for user in (world.treasury_b, world.clerk_b):
        with pytest.raises(NotFound):
            services.open_verified(attachment_id=att.pk, user=user)
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.get(f"/api/v1/attachments/{att.pk}/download").status_code == 404
        assert client.get(reverse("attachments:download", args=[att.pk + 1000])).status_code == 404
    client.force_login(world.admin)  # no attachments.view at all
    assert client.get(f"/api/v1/attachments/{att.pk}/download").status_code == 403


def test_tampered_file_download_shows_an_error_page(world, media, client):
    att = put(world, "a.pdf", PDF)
    (media / att.storage_name).write_bytes(b"%PDF-evil")
    client.force_login(world.clerk_a)
    resp = client.get(reverse("attachments:download", args=[att.pk]))
    assert resp.status_code == 409
    assert "校验失败" in resp.content.decode()
    resp = client.get(f"/api/v1/attachments/{att.pk}/download")
    assert resp.status_code == 409 and resp.json()["code"] == "attachments.checksum_mismatch"


def test_delete_by_the_uploader_while_the_document_is_not_final(world, media, django_capture_on_commit_callbacks):
    doc = world.docs["a1"]
    att = put(world, "a.pdf", PDF)
    with pytest.raises(PermissionDenied) as exc:
        services.delete(attachment_id=att.pk, user=world.treasury_a)
    assert exc.value.code == "attachments.not_uploader"
    with pytest.raises(NotFound):
        services.delete(attachment_id=att.pk, user=world.clerk_b)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete(attachment_id=att.pk, user=world.clerk_a)
    assert not Attachment.objects.exists()
    assert stored_files(media) == []
    rec = AuditRecord.objects.get(action="attachments.delete")
    assert rec.before["filename"] == "a.pdf" and rec.after is None

    # under review: still allowed; once the review is final: neither upload nor delete
    att = put(world, "b.pdf", PDF)
    wf.submit(document=doc, user=world.clerk_a)
    extra = put(world, "c.pdf", PDF, user=world.treasury_a)
    wf.approve(document=doc, user=world.treasury_a)
    wf.approve(document=doc, user=world.city)
    before = (Attachment.objects.count(), AuditRecord.objects.count(), len(stored_files(media)))
    with pytest.raises(Conflict) as exc:
        services.delete(attachment_id=att.pk, user=world.clerk_a)
    assert exc.value.code == "attachments.document_final"
    with pytest.raises(Conflict) as exc:
        services.delete(attachment_id=extra.pk, user=world.treasury_a)
    with pytest.raises(Conflict) as exc:
        put(world, "d.pdf", PDF)
    assert exc.value.code == "attachments.document_final"
    assert (Attachment.objects.count(), AuditRecord.objects.count(), len(stored_files(media))) == before


def test_upload_through_the_page(world, media, client, settings):
    doc = world.docs["a1"]
    url = reverse("attachments:upload", args=[DOC, doc.pk])
    client.force_login(world.clerk_a)
    back = reverse("workflow:document", args=[DOC, doc.pk])
    resp = client.post(url, {"file": SimpleUploadedFile("a.pdf", PDF), "note": "说明", "next": back}, follow=True)
    assert resp.status_code == 200 and "已上传附件" in resp.content.decode()
    assert Attachment.objects.get().note == "说明"
    big = SimpleUploadedFile("big.pdf", PDF + b"%" * settings.FMIS_ATTACHMENT_MAX_BYTES)
    resp = client.post(url, {"file": big, "next": back}, follow=True)
    assert "超过大小限制" in resp.content.decode()
    resp = client.post(url, {"file": SimpleUploadedFile("x.exe", b"MZ"), "next": back}, follow=True)
    assert "不允许上传" in resp.content.decode()
    assert Attachment.objects.count() == 1
    assert len(stored_files(media)) == 1
    # the document page shows the panel with the file
    html = client.get(back).content.decode()
    assert "a.pdf" in html and 'data-testid="attachments-panel"' in html
    client.force_login(world.clerk_b)
    resp = client.post(url, {"file": SimpleUploadedFile("b.pdf", PDF)})
    assert resp.status_code == 404
    assert Attachment.objects.count() == 1


def test_csrf_is_enforced_on_upload(world, media):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(world.clerk_a)
    resp = c.post(reverse("attachments:upload", args=[DOC, world.docs["a1"].pk]),
                  {"file": SimpleUploadedFile("a.pdf", PDF)})
    assert resp.status_code == 403
    assert not Attachment.objects.exists()


def test_api_upload_list_and_delete(world, media, client):
    doc = world.docs["a1"]
    client.force_login(world.clerk_a)
    base = f"/api/v1/attachments/documents/{DOC}/{doc.pk}"
    resp = client.post(base, {"file": SimpleUploadedFile("a.pdf", PDF), "note": "api"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest() and body["note"] == "api"
    resp = client.post(base, {"file": SimpleUploadedFile("a.exe", b"MZ")})
    assert resp.status_code == 422 and resp.json()["code"] == "attachments.type_not_allowed"
    assert [a["filename"] for a in client.get(base).json()] == ["a.pdf"]
    client.force_login(world.treasury_b)
    assert client.get(base).status_code == 404
    assert client.delete(f"/api/v1/attachments/{body['id']}").status_code == 404
    client.force_login(world.clerk_a)
    assert client.delete(f"/api/v1/attachments/{body['id']}").status_code == 204
    assert not Attachment.objects.exists()


def test_document_page_panel_lists_attachments(world, media, client):
    att = put(world, "预算表.pdf", PDF)
    client.force_login(world.clerk_a)
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/x/")
    request.user = world.clerk_a
    html = Template('{% load attachments %}{% attachments_panel doc %}').render(
        Context({"doc": world.docs["a1"], "request": request}))
    assert "预算表.pdf" in html and reverse("attachments:download", args=[att.pk]) in html
    assert 'data-action="delete-attachment"' in html and 'data-testid="upload-form"' in html
    request.user = world.treasury_a
    html = Template('{% load attachments %}{% attachments_panel doc %}').render(
        Context({"doc": world.docs["a1"], "request": request}))
    assert "预算表.pdf" in html and 'data-action="delete-attachment"' not in html


def test_attachment_list_is_limited_to_visible_documents(world, media, client):
    put(world, "甲.pdf", PDF)
    put(world, "乙.pdf", PDF, user=world.clerk_b, doc=world.docs["b1"])

    def names(user):
        return sorted(a.filename for a in selectors.visible(user=user))

    assert names(world.treasury_a) == ["甲.pdf"]
    assert names(world.treasury_b) == ["乙.pdf"]
    assert names(world.city) == ["乙.pdf", "甲.pdf"]
    assert names(world.admin) == []
    assert [a.filename for a in selectors.visible(user=world.city, search="乙")] == ["乙.pdf"]
    client.force_login(world.treasury_a)
    resp = client.get(reverse("attachments:list"))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "甲.pdf" in html and "乙.pdf" not in html
    resp = client.get(reverse("attachments:list"), {"export": "xlsx"})
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    client.force_login(world.admin)
    assert client.get(reverse("attachments:list")).status_code == 403
