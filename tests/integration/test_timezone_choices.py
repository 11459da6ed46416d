"""Time zone selects offer the current zones named in the reader's language, the desk's common zones first;
an old saved name (US/Eastern) still shows and saves as its zone; "Factory", "localtime", Etc/* and old links
are not offered; the browser's zone is preselected by a script only for readers who saved none."""
import html
import re

import pytest
from flask_babel import force_locale

from helpdesk import timezones
from helpdesk.extensions import db
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


def options(page, name):
    """(value, label, selected) of the select named ``name``."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [(re.search(r'value="([^"]*)"', attributes).group(1), html.unescape(label),
             bool(re.search(r"\bselected\b", attributes)))
            for attributes, label in re.findall(r"<option([^>]*)>(.*?)</option>", select, re.S)]


def select_tag(page, name):
    return re.search(rf'<select[^>]*name="{name}"[^>]*>', page).group(0)


def chosen(page, name):
    return [value for value, _label, selected in options(page, name) if selected]


NOT_OFFERED = ("Factory", "localtime", "posixrules", "US/Eastern", "Asia/Calcutta", "Europe/Kiev", "Etc/GMT+5",
               "Etc/UTC", "GMT", "EST5EDT")


def test_the_profile_offers_current_zones_in_the_readers_language_common_ones_first(client, customer):
    log_in(client, "carla@example.test")
    client.set_cookie("lang", "de")
    page = client.get("/profile").text
    zones = options(page, "timezone")

    values = [value for value, _label, _selected in zones]
    assert values[:6] == ["", "Europe/Berlin", "Europe/Istanbul", "Europe/Budapest", "Asia/Tehran", "UTC"]
    assert 380 < len(values) < 460 and len(set(values)) == len(values)
    assert not set(NOT_OFFERED) & set(values)
    labels = dict((value, label) for value, label, _selected in zones)
    assert labels["Europe/Berlin"] == "Deutschland (Berlin)"
    assert labels["Asia/Tehran"] == "Iran (Teheran)"
    assert labels["America/New_York"] == "Vereinigte Staaten (New York)"
    rest = [label for value, label, _selected in zones[6:]]
    assert rest.index("Österreich (Wien)") < rest.index("Polen (Warschau)")  # alphabetical, umlauts in place

    client.set_cookie("lang", "fa")
    labels = dict((value, label) for value, label, _selected in options(client.get("/profile").text, "timezone"))
    assert labels["Europe/Berlin"] == "آلمان (برلین)"


def test_the_desks_own_zone_is_offered_first(app, client, customer):
    app.config["DEFAULT_TIMEZONE"] = "America/Sao_Paulo"
    log_in(client, "carla@example.test")
    values = [value for value, _label, _selected in options(client.get("/profile").text, "timezone")]
    assert values[:3] == ["", "America/Sao_Paulo", "Europe/Berlin"]
    assert values.count("America/Sao_Paulo") == 1


def test_an_old_saved_zone_name_shows_and_saves_as_its_current_zone(client, customer):
    customer.timezone = "US/Eastern"
    db.session.commit()
    log_in(client, "carla@example.test")
    page = client.get("/profile").text
    assert chosen(page, "timezone") == ["America/New_York"]
    assert "data-browser-zone" not in select_tag(page, "timezone")  # the reader's saved zone stands

    fields = {"csrf_token": csrf_token(page), "full_name": "Carla Customer", "phone": "", "locale": ""}
    assert client.post("/profile", data={**fields, "timezone": "America/New_York"}).status_code == 302
    db.session.rollback()  # see what the request committed (SQLite keeps a snapshot per transaction)
    db.session.refresh(customer)
    assert customer.timezone == "America/New_York"

    # An old name sent by an old page or a script is taken as its zone; what is no zone is refused.
    assert client.post("/profile", data={**fields, "timezone": "Asia/Calcutta"}).status_code == 302
    db.session.rollback()  # see what the request committed (SQLite keeps a snapshot per transaction)
    db.session.refresh(customer)
    assert customer.timezone == "Asia/Kolkata"
    for bad in ("Factory", "localtime", "Etc/GMT+5", "Mars/Base"):
        response = client.post("/profile", data={**fields, "timezone": bad})
        assert response.status_code == 200 and 'id="timezone-error"' in response.text, bad
    db.session.rollback()  # see what the request committed (SQLite keeps a snapshot per transaction)
    db.session.refresh(customer)
    assert customer.timezone == "Asia/Kolkata"


def test_the_browser_zone_is_offered_only_to_readers_without_a_saved_zone(client, customer):
    log_in(client, "carla@example.test")
    page = client.get("/profile").text
    assert chosen(page, "timezone") == [""]  # without JavaScript: the desk's default
    assert "data-browser-zone" in select_tag(page, "timezone")
    assert '<script src="/static/js/timezone.js" defer></script>' in page

    customer.timezone = "Europe/Budapest"
    db.session.commit()
    page = client.get("/profile").text
    assert chosen(page, "timezone") == ["Europe/Budapest"]
    assert "data-browser-zone" not in select_tag(page, "timezone") and "timezone.js" not in page


def test_the_ticket_forms_problem_time_zone_uses_the_same_list(client, customer):
    client.set_cookie("lang", "de")
    page = client.get("/tickets/new").text  # a guest: the desk's zone, the browser's once the script runs
    zones = options(page, "problem_timezone")
    assert [value for value, _label, _selected in zones][:5] == ["Europe/Berlin", "Europe/Istanbul",
                                                                 "Europe/Budapest", "Asia/Tehran", "UTC"]
    assert dict((v, label) for v, label, _s in zones)["Europe/Istanbul"] == "Türkei (Istanbul)"
    assert chosen(page, "problem_timezone") == ["UTC"]
    assert "data-browser-zone" in select_tag(page, "problem_timezone")

    customer.timezone = "Asia/Calcutta"  # saved before the list changed
    db.session.commit()
    log_in(client, "carla@example.test")
    page = client.get("/tickets/new").text
    assert chosen(page, "problem_timezone") == ["Asia/Kolkata"]
    assert "data-browser-zone" not in select_tag(page, "problem_timezone")


def test_zones_shown_on_pages_are_named_in_the_readers_language(client, admin_user, department):
    from helpdesk.tickets import sla

    night = sla.create_calendar(admin_user, name="Night shift", time_zone="Asia/Tehran")
    log_in(client, "admin@example.test")
    client.set_cookie("lang", "de")
    outside_menus = re.sub(r"<select.*?</select>", "", client.get("/agent/admin/sla/").text, flags=re.S)
    assert "<td>Iran (Teheran)</td>" in outside_menus and "Asia/Tehran" not in outside_menus
    outside_menus = re.sub(r"<select.*?</select>", "", client.get(f"/agent/admin/sla/calendars/{night.id}").text,
                           flags=re.S)
    assert "Iran (Teheran)" in outside_menus and "Asia/Tehran" not in outside_menus


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", email="admin@example.test", full_name="Ada Admin")


@pytest.mark.parametrize("saved, current", [("US/Pacific", "America/Los_Angeles"), ("Europe/Kiev", "Europe/Kyiv"),
                                            ("Etc/UTC", "UTC"), ("Europe/Berlin", "Europe/Berlin"),
                                            ("Factory", None), ("localtime", None), ("Etc/GMT-3", None),
                                            ("", None)])
def test_saved_names_map_to_current_zones(app, saved, current):
    assert timezones.canonical(saved) == current


def test_zone_names_are_kept_per_language_not_rebuilt_per_request(app):
    with app.test_request_context(), force_locale("hu"):
        first = timezones.timezone_choices()
        assert timezones.timezone_choices() == first
        assert timezones._choices.cache_info().currsize >= 1
        assert timezones.zone_label("US/Eastern") == "Egyesült Államok (New York)"
