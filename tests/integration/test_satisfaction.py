"""Satisfaction ratings on both databases: the closing mail carries signed good/bad links; opening a link only
shows the choice (mail scanners open links), confirming it records the rating; a second vote changes it;
altered and expired links get a clear page; the workspace and the dashboard panel show the ratings."""
import re
import time
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from flask import render_template
from itsdangerous import TimestampSigner

from helpdesk.audit.models import AuditEvent
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import satisfaction, service
from helpdesk.tickets.satisfaction import BAD, GOOD, SatisfactionRating
from tests.conftest import csrf_token, log_in

LINK = re.compile(r"http://helpdesk\.example\.test(/satisfaction/[A-Za-z0-9._-]+)")


@pytest.fixture
def ticket(customer, department):
    return service.open_ticket(customer, subject="Printer jams", body_text="Every second page jams.",
                               department=department.id, cc=["boss@example.test"], acknowledge=False)


def rating_links(smtp, address="carla@example.test"):
    mail = smtp.wait_for(1)
    closing = [m for m in mail if address in str(m["To"])]
    assert closing, "the requester got no mail"
    text = closing[-1].get_body(("plain",)).get_content()
    good, bad = (LINK.search(text[text.index(label):]).group(1)
                 for label in ("Good, I'm satisfied", "Bad, I'm not satisfied"))
    return good, bad


def stored_rating(ticket):
    db.session.rollback()
    return db.session.scalar(sa.select(SatisfactionRating).where(SatisfactionRating.ticket_id == ticket.id))


def confirm(client, path, **data):
    page = client.get(path).text
    return client.post(path, data={"csrf_token": csrf_token(page), **data})


def test_closing_mails_the_requester_good_and_bad_links_that_open_the_rating_page(client, agent, ticket, smtp):
    service.close(agent, ticket)
    good, bad = rating_links(smtp)
    mail = smtp.to("carla@example.test")[-1]
    assert f"[#{ticket.number}]" in mail["Subject"] and "closed" in mail["Subject"]
    assert not smtp.to("boss@example.test"), "the rating links are for the requester only"
    html = mail.get_body(("html",)).get_content()
    assert "Good, I&#39;m satisfied" in html or "Good, I'm satisfied" in html

    page = client.get(good)
    assert page.status_code == 200
    assert f"#{ticket.number}" in page.text and "Printer jams" in page.text
    assert re.search(r'<input[^>]*checked[^>]*value="good"|<input[^>]*value="good"[^>]*checked', page.text)
    page = client.get(bad)
    assert re.search(r'<input[^>]*checked[^>]*value="bad"|<input[^>]*value="bad"[^>]*checked', page.text)


def test_opening_a_link_records_nothing(client, agent, ticket, smtp):
    service.close(agent, ticket)
    good, bad = rating_links(smtp)
    client.get(good)
    client.get(bad)
    assert stored_rating(ticket) is None


def test_confirming_records_the_rating_with_its_comment_and_thanks(client, agent, ticket, smtp):
    service.close(agent, ticket)
    good, _ = rating_links(smtp)
    response = confirm(client, good, rating="good", comment="Quick and friendly.")
    assert response.status_code == 200
    assert "Thank you for your rating" in response.text and "Quick and friendly." in response.text
    row = stored_rating(ticket)
    assert (row.rating, row.comment, row.rated_by.email) == (GOOD, "Quick and friendly.", "carla@example.test")
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.entity_id == ticket.id,
                                                                AuditEvent.action == "rated")) == "rated"


def test_a_second_vote_changes_the_rating_and_the_comment_can_be_edited(client, agent, ticket, smtp):
    service.close(agent, ticket)
    good, bad = rating_links(smtp)
    confirm(client, good, rating="good", comment="")
    page = client.get(good).text
    assert "You rated this ticket" in page
    confirm(client, bad, rating="bad", comment="It jams again.")
    row = stored_rating(ticket)
    assert (row.rating, row.comment) == (BAD, "It jams again.")
    # The comment is shown again for editing through the same link.
    assert "It jams again." in client.get(good).text
    confirm(client, good, rating="bad", comment="It jams again, but less.")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SatisfactionRating)) == 1
    assert stored_rating(ticket).comment == "It jams again, but less."


def test_an_unknown_rating_or_a_long_comment_is_answered_beside_the_field(client, agent, ticket, smtp):
    service.close(agent, ticket)
    good, _ = rating_links(smtp)
    response = confirm(client, good, rating="splendid", comment="Fine.")
    assert response.status_code == 400 and "Choose good or bad." in response.text
    response = confirm(client, good, rating="good", comment="x" * (satisfaction.COMMENT_MAX + 1))
    assert response.status_code == 400
    assert re.search(r'id="comment-error">Use at most 2000 characters\.', response.text)
    assert stored_rating(ticket) is None


def test_an_altered_link_gets_a_clear_page_and_records_nothing(client, agent, ticket, smtp):
    service.close(agent, ticket)
    good, _ = rating_links(smtp)
    tampered = good[:-3] + ("abc" if good.endswith("xyz") else "xyz")
    response = client.get(tampered)
    assert response.status_code == 404 and "This rating link is not valid" in response.text
    token = csrf_token(client.get(good).text)
    assert client.post(tampered, data={"rating": "good", "csrf_token": token}).status_code == 404
    assert stored_rating(ticket) is None


def test_a_link_moved_to_another_ticket_does_not_rate_it(client, agent, customer, ticket, smtp):
    other = service.open_ticket(customer, subject="Other", body_text="Another one.", acknowledge=False)
    service.close(agent, ticket)
    good, _ = rating_links(smtp)
    signature = good.rsplit(".", 1)[1]
    with client.application.test_request_context():
        theirs = satisfaction.rating_token(other, GOOD)
    moved = "/satisfaction/" + theirs.rsplit(".", 1)[0] + "." + signature
    assert client.get(moved).status_code == 404
    assert stored_rating(other) is None


def test_an_expired_link_gets_a_clear_page(client, agent, ticket, smtp, monkeypatch):
    service.close(agent, ticket)
    days = client.application.config["SATISFACTION_LINK_DAYS"]
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - (days + 1) * 86400)
        with client.application.test_request_context():
            old = satisfaction.rating_token(ticket, GOOD)
    response = client.get(f"/satisfaction/{old}")
    assert response.status_code == 410 and "This rating link has expired" in response.text
    assert stored_rating(ticket) is None


def test_summary_counts_good_and_bad_over_the_last_days(app, agent, customer, department):
    tickets = [service.open_ticket(customer, subject=f"T{i}", body_text="x", acknowledge=False) for i in range(4)]
    for ticket, rating in zip(tickets, [GOOD, GOOD, BAD, GOOD], strict=True):
        satisfaction.rate_ticket(ticket, rating, "")
    # The last good rating was given 10 days ago: in the 30-day figures only.
    row = satisfaction.rating_of(tickets[3])
    row.updated_at = utcnow() - timedelta(days=10)
    db.session.commit()

    week, month = satisfaction.summary(7), satisfaction.summary(30)
    assert (week.good, week.bad, week.total) == (2, 1, 3)
    assert week.share_good == pytest.approx(2 / 3)
    assert (month.good, month.bad) == (3, 1) and month.share_good == pytest.approx(0.75)
    assert satisfaction.summary(1).share_good is not None
    db.session.execute(sa.delete(SatisfactionRating))
    db.session.commit()
    assert satisfaction.summary(7).share_good is None


def test_the_dashboard_panel_shows_both_periods(app, customer):
    ticket = service.open_ticket(customer, subject="Panel", body_text="x", acknowledge=False)
    satisfaction.rate_ticket(ticket, GOOD, "")
    with app.test_request_context("/agent/"):
        html = render_template("desk/_satisfaction_panel.html")
    assert "Last 7 days" in html and "Last 30 days" in html
    assert "100% good" in html and "1 good, 0 bad" in html


def test_the_workspace_shows_the_rating_and_its_comment(client, agent, ticket, smtp):
    service.close(agent, ticket)
    good, _ = rating_links(smtp)
    confirm(client, good, rating="good", comment="Thanks a lot!")
    log_in(client, "agent@example.test")
    page = client.get(f"/agent/tickets/{ticket.number}").text
    side = unescape(page[page.index('id="satisfaction"'):])
    assert "Good, I'm satisfied" in side and "Thanks a lot!" in side
