import pytest
from django.test import Client


@pytest.mark.django_db
def test_admin_is_a_read_only_browser_for_superusers(make_user, make_region):
    region = make_region("990100")
    su = make_user("su", user_type="super", region=region)
    normal = make_user("plain", region=region)
    c = Client()
    c.force_login(su)
    assert c.get("/admin/orgs/region/").status_code == 200
    assert c.get(f"/admin/orgs/region/{region.pk}/change/").status_code == 200  # a view page, no form
    assert c.get("/admin/orgs/region/add/").status_code == 403
    resp = c.post(f"/admin/orgs/region/{region.pk}/delete/", {"post": "yes"})
    assert resp.status_code == 403
    region.refresh_from_db()
    c.force_login(normal)
    assert c.get("/admin/orgs/region/").status_code == 302  # to the admin login: not staff
