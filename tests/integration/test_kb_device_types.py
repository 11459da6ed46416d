"""The knowledge base by device type (issue 19): the article editor offers the catalogue's device types for an
article's product, the portal's search box filters by device type (a buyer's own devices' types offered first),
the index and search show only that type's articles, and an article names its device type."""
import re
from datetime import date
from html import unescape

import pytest

from helpdesk.accounts.memberships import ensure_personal_account
from helpdesk.actors import SYSTEM
from helpdesk.devices import registry
from helpdesk.devices.models import DeviceType
from helpdesk.extensions import db
from helpdesk.kb import service
from helpdesk.kb.models import KBArticle
from tests.conftest import csrf_token, log_in

pytestmark = pytest.mark.backends("postgresql")  # the web door; the kb service is tested on both elsewhere


@pytest.fixture
def library(make_user):
    editor = service.set_editor(SYSTEM, make_user("agent", email="editor@example.test", full_name="Edna Editor"),
                                True)
    acme = DeviceType(code="acme-x200", brand="Acme", model="X200")
    nova = DeviceType(code="nova-s1", brand="Nova", model="S1")
    db.session.add_all([acme, nova])
    db.session.commit()
    folder = service.create_folder(editor, title="Manuals")
    calibrate = service.create_article(editor, folder=folder, language="en", title="Calibrating the X200",
                                       body="Turn the dial.", product="acme-x200", publish=True)
    filters = service.create_article(editor, folder=folder, language="en", title="Changing the S1 filters",
                                     body="Turn the filter housing.", product="nova-s1", publish=True)
    general = service.create_article(editor, folder=folder, language="en", title="Safety first",
                                     body="Turn the power off.", publish=True)
    return editor, folder, acme, nova, calibrate, filters, general


def text(response):
    return unescape(response.get_data(as_text=True))


def test_the_portal_filters_articles_by_device_type(client, library):
    _editor, _folder, _acme, _nova, calibrate, filters, general = library
    everything = text(client.get("/kb/"))
    assert all(a in everything for a in ("Calibrating the X200", "Changing the S1 filters", "Safety first"))
    assert '<option value="acme-x200">Acme X200</option>' in everything

    only_acme = text(client.get("/kb/?device=acme-x200"))
    assert "Calibrating the X200" in only_acme and "Changing the S1 filters" not in only_acme
    assert "Safety first" not in only_acme and '<option value="acme-x200" selected>' in only_acme
    assert "Changing the S1 filters" in text(client.get("/kb/?device=nova-s1"))
    assert "Safety first" in text(client.get("/kb/?device=no-such-type"))  # an unknown type filters nothing

    found = text(client.get("/kb/search?q=turn&device=nova-s1"))
    assert "Changing the S1 filters" in found and "Calibrating the X200" not in found and "Safety first" not in found
    assert "Calibrating the X200" in text(client.get("/kb/search?q=turn"))
    assert client.get("/kb/search?q=&device=nova-s1").headers["Location"].endswith("/kb/?device=nova-s1")

    article = text(client.get(f"/kb/articles/{filters.id}"))
    assert re.search(r"Device type: (<bdi[^>]*>)?Nova S1", article) and 'href="/kb/?device=nova-s1"' in article
    assert "Device type" not in text(client.get(f"/kb/articles/{general.id}")).split("kb-body")[0].split("</h1>")[1]
    assert calibrate.product == "acme-x200"


def test_a_buyer_sees_their_own_device_types_first(client, library, make_user):
    _editor, _folder, _acme, nova, *_ = library
    buyer = make_user("customer", email="bahar@example.test")
    account = ensure_personal_account(buyer)
    db.session.commit()
    admin = make_user("admin", email="ada@example.test")
    registry.register_device(admin, account.id, device_type=nova.id, serial_number="S1-77",
                             installed_on=date(2026, 2, 1))
    log_in(client, buyer.email)
    page = text(client.get("/kb/"))
    assert 'href="/videos/"' in page  # their training videos, one click from the knowledge base
    own, others = page.split('label="Your devices"')[1].split('label="Other device types"')
    assert '<option value="nova-s1">Nova S1</option>' in own and "acme-x200" not in own
    assert '<option value="acme-x200">Acme X200</option>' in others.split("</select>")[0]


def test_the_editor_offers_the_device_types_and_keeps_an_older_product(client, library):
    editor, folder, *_ , general = library
    log_in(client, editor.email)
    form = text(client.get("/agent/kb/articles/new"))
    assert '<option value="acme-x200">Acme X200 (acme-x200)</option>' in form
    assert '<option value="nova-s1">Nova S1 (nova-s1)</option>' in form
    client.post("/agent/kb/articles/new", data={
        "csrf_token": csrf_token(form), "language": "en", "title": "S1 noise", "body": "Check the fan.",
        "body_format": "markdown", "folder": str(folder.id), "tags": "", "product": "nova-s1", "video_url": ""})
    db.session.rollback()
    created = db.session.query(KBArticle).filter(KBArticle.product == "nova-s1").count()
    assert created == 2

    service.update_article(editor, general, language="en", title="Safety first", body="Turn the power off.",
                           product="Legacy R500")
    edit = text(client.get(f"/agent/kb/articles/{general.id}/edit"))
    assert '<option selected value="Legacy R500">Legacy R500</option>' in edit or \
        '<option value="Legacy R500" selected>Legacy R500</option>' in edit
