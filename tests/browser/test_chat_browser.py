"""Live chat in Chromium (issue 21): a guest chats from the portal's panel with an agent in the console's inbox,
loses the connection for a while and misses nothing, and the agent turns the chat into a ticket whose number the
guest sees and into which an email reply to the acknowledgement threads; outside the chat's hours (nobody
online) the panel leaves the message as a ticket instead."""
import re
import threading

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import make_server

from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.tickets.models import Ticket
from tests.browser.conftest import log_in
from tests.chat_client import calendar_closed_now
from tests.fakes.loopback import POLL

GUEST_EMAIL = "gina@guest.test"


def open_inbox(window):
    """The agent's console inbox, online."""
    console = window(1280, 900)
    log_in(console, "agent@example.test")
    console.goto("/chat/desk/")
    expect(console.get_by_role("heading", name="Chats", level=1)).to_be_visible()
    with console.expect_response(lambda r: r.url.endswith("/chat/desk/availability")) as answer:
        console.get_by_label("Availability").select_option("online")
    assert answer.value.ok
    return console


def panel_of(page):
    return page.locator("#hdchat-panel")


def ticket_by_number(number):
    db.session.rollback()  # the app's server thread wrote it: read afresh
    return db.session.scalar(sa.select(Ticket).where(Ticket.number == number))


def reply_by_mail(ack, text):
    raw = (f"From: Gina Guest <{GUEST_EMAIL}>\r\nTo: {ack['Reply-To'] or ack['From']}\r\n"
           f"Subject: Re: {ack['Subject']}\r\nDate: Fri, 4 Dec 2026 10:15:00 +0000\r\n"
           f"Message-ID: <gina.reply.1@guest.test>\r\nIn-Reply-To: {ack['Message-ID']}\r\n"
           f"References: {ack['Message-ID']}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n").encode()
    (outcome,) = pipeline.ingest([pipeline.Fetched("imap:support", raw, label="reply")])
    return outcome


def test_a_guest_chats_loses_the_connection_and_the_chat_becomes_a_ticket_a_mail_reply_joins(
        window, live_server, agent, department, smtp, screenshot):
    console = open_inbox(window)
    guest = window(1100, 800)
    guest.goto("/")
    guest.get_by_role("button", name="Chat with us").click()
    panel = panel_of(guest)
    panel.get_by_label("Your name").fill("Gina Guest")
    panel.get_by_label("Your email address").fill(GUEST_EMAIL)
    panel.get_by_label("How can we help?").fill("My router keeps dropping the VPN.")
    panel.get_by_role("button", name="Start chat").click()
    expect(panel.locator(".hdchat-waiting")).to_be_visible()
    expect(panel.locator(".hdchat-mine")).to_contain_text("My router keeps dropping the VPN.")

    waiting = console.locator("#chat-waiting li", has_text="Gina Guest")
    expect(waiting).to_contain_text("waiting")
    waiting.get_by_role("button", name="Accept").click()
    expect(console.get_by_role("tab", name="Gina Guest")).to_have_attribute("aria-selected", "true")
    expect(console.locator("#chat-log")).to_contain_text("My router keeps dropping the VPN.")
    expect(console.locator("#chat-waiting")).not_to_contain_text("Gina Guest")
    expect(panel.locator(".hdchat-waiting")).to_be_hidden()

    console.get_by_label("Message").fill("Which router model is it?")
    console.get_by_role("button", name="Send", exact=True).click()
    expect(panel.locator(".hdchat-theirs")).to_contain_text("Which router model is it?")
    # The guest's panel is open: the agent's message is read, and the agent's tick says so.
    expect(console.locator("#chat-log .chat-agent .chat-ticks").last).to_have_text(" ✓✓")

    panel.get_by_label("Message").fill("A Fritz!Box 7590.")
    panel.get_by_label("Message").press("Enter")
    expect(console.locator("#chat-log .chat-customer").last).to_contain_text("A Fritz!Box 7590.")
    console.get_by_label("Message").fill("Firmware 7.57 drops VPN after ten minutes: a known bug.")
    console.get_by_role("button", name="Add internal note").click()
    expect(console.locator("#chat-log .chat-note")).to_contain_text("Internal note")

    # The guest's connection drops; what the agent says meanwhile arrives once it is back, once.
    guest.context.set_offline(True)
    console.get_by_label("Message").fill("Please update to 7.59.")
    console.get_by_role("button", name="Send", exact=True).click()
    console.get_by_label("Message").fill("It fixes exactly this.")
    console.get_by_role("button", name="Send", exact=True).click()
    expect(console.locator("#chat-log .chat-agent")).to_have_count(3)
    expect(panel.locator(".hdchat-notice")).to_have_text("Connection lost. Reconnecting…")
    guest.wait_for_timeout(1500)
    expect(panel.locator(".hdchat-theirs")).to_have_count(1)  # nothing got through meanwhile
    guest.context.set_offline(False)
    expect(panel.locator(".hdchat-theirs", has_text="It fixes exactly this.")).to_have_count(1, timeout=20_000)
    expect(panel.locator(".hdchat-theirs")).to_have_count(3)
    expect(panel.locator(".hdchat-theirs", has_text="Please update to 7.59.")).to_have_count(1)
    expect(panel.locator(".hdchat-notice")).to_be_hidden()
    expect(panel).not_to_contain_text("known bug")  # the note stays in the console

    # A reload reattaches to the same chat with its whole transcript.
    guest.reload()
    panel = panel_of(guest)
    expect(panel.locator(".hdchat-theirs")).to_have_count(3)
    expect(panel.locator(".hdchat-mine")).to_have_count(2)

    console.once("dialog", lambda dialog: dialog.accept())
    console.get_by_role("button", name="Convert to ticket").click()
    link = console.locator("#chat-ticket a")
    expect(link).to_contain_text("was opened from this chat")
    number = int(re.search(r"#(\d+)", link.inner_text()).group(1))
    expect(panel.locator(".hdchat-system", has_text=f"#{number}")).to_contain_text(
        f"This conversation is now ticket #{number}")
    screenshot(guest, "guest")
    screenshot(console, "console")

    ticket = ticket_by_number(number)
    assert ticket is not None and ticket.requester.email == GUEST_EMAIL
    ack = next(m for m in smtp.wait_for(1) if GUEST_EMAIL in str(m["To"]))
    assert str(number) in ack["Subject"] or str(number) in ack.get_body(("plain",)).get_content()

    outcome = reply_by_mail(ack, "Updated to 7.59, the VPN holds now. Thanks!")
    assert outcome.ticket_number == number
    ticket = ticket_by_number(number)
    assert "Updated to 7.59, the VPN holds now." in ticket.messages[-1].body_text
    link.click()
    expect(console.locator("#main")).to_contain_text("Updated to 7.59, the VPN holds now.")


def test_with_nobody_online_the_panel_leaves_the_message_as_a_ticket(window, live_server, agent, department,
                                                                      smtp, screenshot):
    guest = window(1100, 800)
    guest.goto("/")
    guest.get_by_role("button", name="Chat with us").click()
    panel = panel_of(guest)
    expect(panel).to_contain_text("No agent is available right now.")
    expect(panel.get_by_role("button", name="Start chat")).to_have_count(0)
    panel.get_by_label("Your name").fill("Otto Late")
    panel.get_by_label("Your email address").fill("not an address")
    panel.get_by_label("Subject").fill("Invoice address")
    panel.get_by_label("Your message").fill("Please put our new address on the next invoice.")
    panel.get_by_role("button", name="Send message").click()
    expect(panel.locator("#hdchat-email-error")).to_have_text("Enter a valid email address.")
    expect(panel.locator("#hdchat-privacy-error")).to_have_text("Please agree to the privacy policy.")

    panel.get_by_label("Your email address").fill("otto@late.test")
    panel.get_by_label("I agree that my data is processed").check()
    panel.get_by_role("button", name="Send message").click()
    made = panel.locator(".hdchat-ticket-made")
    expect(made).to_contain_text("Your ticket number is #")
    number = int(re.search(r"#(\d+)", made.inner_text()).group(1))
    screenshot(guest)

    ticket = ticket_by_number(number)
    assert ticket.subject == "Invoice address" and ticket.requester.email == "otto@late.test"
    assert "new address" in ticket.messages[0].body_text


def test_the_chat_button_sits_in_the_bottom_corner_on_the_reading_side_left_in_persian(window, live_server, agent,
                                                                                       department, screenshot):
    open_inbox(window)
    guest = window(1100, 800, language="fa")
    guest.goto("/")
    launcher = guest.locator(".hdchat-launcher")
    expect(launcher).to_be_visible()
    expect(guest.locator(".hdchat")).to_have_attribute("dir", "rtl")
    box = launcher.bounding_box()
    assert box["x"] < 1100 / 2 and box["y"] > 800 / 2  # bottom-left in a right-to-left page
    launcher.click()
    panel = panel_of(guest)
    expect(panel.locator("form.hdchat-start")).to_be_visible()
    box = panel.bounding_box()
    assert box["x"] < 1100 / 2 and box["x"] + box["width"] < 1100 * 0.6
    screenshot(guest)

    english = window(1100, 800)
    english.goto("/")
    box = english.locator(".hdchat-launcher").bounding_box()
    assert box["x"] > 1100 / 2 and box["y"] > 800 / 2
    expect(english.locator(".hdchat-launcher")).to_have_text("Chat with us")


def test_outside_the_chat_hours_the_panel_leaves_a_ticket_though_an_agent_is_online(
        app, window, live_server, agent, department, make_user, smtp):
    calendar_closed_now(make_user("admin"), "Chat hours")
    app.config["CHAT_CALENDAR"] = "Chat hours"
    open_inbox(window)
    guest = window(1100, 800)
    guest.goto("/kb/")
    guest.get_by_role("button", name="Chat with us").click()
    panel = panel_of(guest)
    expect(panel).to_contain_text("We are not available for chat right now.")
    expect(panel.get_by_role("button", name="Start chat")).to_have_count(0)
    panel.get_by_label("Your name").fill("Nora Night")
    panel.get_by_label("Your email address").fill("nora@night.test")
    panel.get_by_label("Subject").fill("Backup failed")
    panel.get_by_label("Your message").fill("Last night's backup failed with error 28.")
    panel.get_by_label("I agree that my data is processed").check()
    panel.get_by_role("button", name="Send message").click()
    made = panel.locator(".hdchat-ticket-made")
    expect(made).to_contain_text("Your ticket number is #")
    number = int(re.search(r"#(\d+)", made.inner_text()).group(1))
    assert ticket_by_number(number).subject == "Backup failed"
    ack = next(m for m in smtp.wait_for(1) if "nora@night.test" in str(m["To"]))
    assert str(number) in ack["Subject"]


def test_a_visitor_who_waits_too_long_is_offered_a_ticket(app, window, live_server, agent, department, smtp):
    app.config["CHAT_OFFER_TICKET_AFTER_SECONDS"] = 2
    open_inbox(window)
    guest = window(1100, 800)
    guest.goto("/")
    guest.get_by_role("button", name="Chat with us").click()
    panel = panel_of(guest)
    panel.get_by_label("Your name").fill("Wanda Wait")
    panel.get_by_label("Your email address").fill("wanda@wait.test")
    panel.get_by_role("button", name="Start chat").click()
    expect(panel.locator(".hdchat-waiting")).to_be_visible()
    offer = panel.locator(".hdchat-offer")
    expect(offer).to_contain_text("Nobody has answered yet.", timeout=10_000)
    offer.get_by_text("Leave a message as a ticket").click()
    expect(offer.get_by_label("Your email address")).to_have_value("wanda@wait.test")
    offer.get_by_label("Subject").fill("Still waiting")
    offer.get_by_label("Your message").fill("Please call me back about the renewal.")
    offer.get_by_label("I agree that my data is processed").check()
    offer.get_by_role("button", name="Send message").click()
    expect(offer.locator(".hdchat-ticket-made")).to_contain_text("Your ticket number is #")


def test_a_customer_chats_under_their_account_ends_rates_and_gets_the_transcript(
        window, live_server, agent, customer, department, smtp):
    from helpdesk.tickets import service

    service.open_ticket(customer, subject="Printer offline", body_text="Since Monday.", department=department,
                        acknowledge=False)
    console = open_inbox(window)
    page = window(1100, 800)
    log_in(page, customer.email)
    page.get_by_role("button", name="Chat with us").click()
    panel = panel_of(page)
    expect(panel.get_by_role("button", name="Start chat")).to_be_visible()
    expect(panel.get_by_label("Your email address")).to_have_count(0)  # known from the account
    panel.get_by_label("How can we help?").fill("Is the printer ticket being looked at?")
    panel.get_by_role("button", name="Start chat").click()

    console.locator("#chat-waiting li", has_text="Carla Customer").get_by_role("button", name="Accept").click()
    expect(console.locator("#chat-customer")).to_contain_text("carla@example.test")
    expect(console.locator("#chat-tickets")).to_contain_text("Printer offline")
    console.get_by_label("Message").fill("Yes, a technician comes tomorrow.")
    console.get_by_role("button", name="Send", exact=True).click()
    expect(panel.locator(".hdchat-theirs")).to_contain_text("a technician comes tomorrow")

    page.once("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="End chat").click()
    expect(panel.locator(".hdchat-composer")).to_be_hidden()
    expect(console.locator("#chat-log .chat-system").last).to_contain_text("The chat has ended.")
    panel.get_by_label("Good").check()
    panel.get_by_label("Comment (optional)").fill("Quick and clear.")
    panel.get_by_role("button", name="Send rating").click()
    expect(panel).to_contain_text("Thank you for your rating.")
    panel.get_by_role("button", name="Email me the transcript").click()
    expect(panel).to_contain_text("The transcript is on its way to your inbox.")
    page.reload()  # an ended chat no longer opens by itself; the button brings it back
    expect(page.locator(".hdchat-launcher")).to_be_visible()
    expect(panel).to_be_hidden()
    page.get_by_role("button", name="Chat with us").click()
    expect(panel.locator(".hdchat-theirs")).to_contain_text("a technician comes tomorrow")
    expect(panel.get_by_role("button", name="Send rating")).to_have_count(0)  # rated already
    expect(panel.get_by_role("button", name="Start a new chat")).to_be_visible()
    transcript = smtp.wait_for(1)[-1]
    assert "carla@example.test" in str(transcript["To"])
    assert "a technician comes tomorrow" in transcript.get_body(("plain",)).get_content()

    console.goto("/chat/desk/history?q=printer")
    console.get_by_role("link", name="Carla Customer").click()
    expect(console.locator(".chat-log")).to_contain_text("Is the printer ticket being looked at?")
    expect(console.locator("#main")).to_contain_text("Rated good")


@pytest.fixture
def other_website(live_server):
    """Another website on loopback (another origin) whose page embeds the chat snippet from the desk."""
    page = (f'<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Our shop</h1>'
            f'<script src="{live_server}/chat/widget.js" async></script></body></html>').encode()

    def shop(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page]

    server = make_server("127.0.0.1", 0, shop, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), name="other-website", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_snippet_embedded_on_another_website_chats_with_the_desk(app, window, live_server, other_website,
                                                                      agent, department):
    app.config["CHAT_ALLOWED_ORIGINS"] = [other_website]
    console = open_inbox(window)
    shopper = window(1100, 800)
    shopper.goto(f"{other_website}/cart")
    expect(shopper.get_by_role("heading", name="Our shop")).to_be_visible()
    shopper.get_by_role("button", name="Chat with us").click()
    panel = panel_of(shopper)
    panel.get_by_label("Your name").fill("Sam Shopper")
    panel.get_by_label("Your email address").fill("sam@shop.test")
    panel.get_by_label("How can we help?").fill("Do you ship to Izmir?")
    panel.get_by_role("button", name="Start chat").click()
    expect(panel.locator(".hdchat-mine")).to_contain_text("Do you ship to Izmir?")

    console.locator("#chat-waiting li", has_text="Sam Shopper").get_by_role("button", name="Accept").click()
    console.get_by_label("Message").fill("Yes, in two days.")
    console.get_by_role("button", name="Send", exact=True).click()
    expect(panel.locator(".hdchat-theirs")).to_contain_text("Yes, in two days.")


def test_canned_answers_typing_files_ticks_and_a_transfer_to_a_colleague(window, live_server, agent, department,
                                                                         make_user, tmp_path):
    from helpdesk.actors import SYSTEM
    from helpdesk.chat import service as chat_service
    from helpdesk.tickets import canned, departments

    canned.create_response(SYSTEM, title="Greeting", body="Hello {customer_name}, I am {agent_name}.")
    colleague = make_user("agent", email="bo@example.test", full_name="Bo Colleague")
    departments.add_agent_to_department(SYSTEM, department, colleague)
    chat_service.set_availability(colleague, "online")

    console = open_inbox(window)
    guest = window(1100, 800)
    guest.goto("/")
    guest.get_by_role("button", name="Chat with us").click()
    panel = panel_of(guest)
    panel.get_by_label("Your name").fill("Tess Tester")
    panel.get_by_label("Your email address").fill("tess@guest.test")
    panel.get_by_role("button", name="Start chat").click()
    console.locator("#chat-waiting li", has_text="Tess Tester").get_by_role("button", name="Accept").click()
    expect(panel.locator(".hdchat-system")).to_contain_text("Alex Agent joined the chat.")

    console.get_by_label("Canned response").select_option(label="Greeting")
    expect(console.get_by_label("Message")).to_have_value("Hello Tess Tester, I am Alex Agent.")
    console.get_by_role("button", name="Send", exact=True).click()
    expect(panel.locator(".hdchat-theirs")).to_contain_text("Hello Tess Tester, I am Alex Agent.")

    panel.get_by_label("Message").press_sequentially("Here is a")
    expect(console.locator("#chat-typing")).to_have_text("Tess Tester is typing…")
    console.get_by_label("Message").press_sequentially("Let me")
    expect(panel.locator(".hdchat-typing")).to_be_visible()

    screenshot_file = tmp_path / "error.txt"
    screenshot_file.write_text("E-42 FUSER OVERHEAT\n")
    panel.get_by_label("Message").fill("Here is a photo of the display.")
    panel.locator("input[type=file]").set_input_files(str(screenshot_file))
    expect(console.locator("#chat-log .chat-customer").last).to_contain_text("error.txt")
    # The agent's inbox has the chat open, so it is read at once: the guest sees two ticks.
    expect(panel.locator(".hdchat-mine .hdchat-ticks").last).to_have_text("✓✓")
    expect(console.get_by_role("link", name="error.txt")).to_have_attribute(
        "href", re.compile(r"/chat/desk/attachments/\d+"))

    console.get_by_label("Transfer to").select_option(label="Bo Colleague")
    console.get_by_role("button", name="Transfer").click()
    expect(console.locator("#chat-notice")).to_be_hidden()
    expect(console.locator("#chat-pane")).to_be_hidden()
    expect(console.get_by_role("tab", name="Tess Tester")).to_have_count(0)
    expect(panel.locator(".hdchat-system").last).to_contain_text("The chat was passed to Bo Colleague.")
    db.session.rollback()
    assert [chat.name for chat in chat_service.my_chats(colleague)] == ["Tess Tester"]


def test_with_chat_turned_off_neither_the_button_nor_the_inbox_link_shows(app, window, live_server, agent):
    app.config["CHAT_ENABLED"] = False
    guest = window(1100, 800)
    guest.goto("/")
    expect(guest.get_by_role("heading", level=1)).to_be_visible()
    expect(guest.locator(".hdchat-launcher")).to_have_count(0)
    console = window(1280, 800)
    log_in(console, "agent@example.test")
    expect(console.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(console.get_by_role("link", name="Chats", exact=True)).to_have_count(0)
    assert console.goto("/chat/desk/").status == 404
