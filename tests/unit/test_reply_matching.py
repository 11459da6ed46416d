"""Reply tokens and subject tags: a signed reply address leads back to its ticket, a forged or altered
one leads nowhere, and the [#number] tag is found behind any reply or forward prefix."""
import pytest

from helpdesk import create_app
from helpdesk.tickets.reply_matching import number_from_address, number_from_subject, reply_address, subject_tag


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app("testing", {"INSTANCE_PATH": str(tmp_path_factory.mktemp("instance"))})


@pytest.fixture(autouse=True)
def app_context(app):
    with app.app_context():
        yield


def _tamper(address, position):
    """``address`` with one character of its signature changed (position counts from the end of the token)."""
    at = address.index("@") - position
    replacement = "a" if address[at] != "a" else "b"
    return address[:at] + replacement + address[at + 1:]


def test_reply_address_leads_back_to_its_ticket():
    address = reply_address("support@example.test", 1042)
    assert address.startswith("support+1042.") and address.endswith("@example.test")
    assert number_from_address(address) == 1042


@pytest.mark.parametrize("wrap", [
    lambda a: f"Helpdesk Technical <{a}>",
    lambda a: a.upper(),  # some servers upper-case the local part
    lambda a: f'"Support, Technical" <{a}>',
], ids=["display-name", "upper-case", "quoted-display-name"])
def test_reply_address_is_recognised_as_mail_clients_write_it(wrap):
    assert number_from_address(wrap(reply_address("support@example.test", 7))) == 7


def test_reply_address_replaces_an_existing_plus_part():
    address = reply_address("support+technical@example.test", 1042)
    assert address.startswith("support+1042.") and address.count("+") == 1
    assert number_from_address(address) == 1042


def test_each_ticket_gets_its_own_signature():
    first, second = reply_address("s@example.test", 1042), reply_address("s@example.test", 1043)
    assert first.split("+")[1].split(".")[1] != second.split("+")[1].split(".")[1]


@pytest.mark.parametrize("position", range(1, 9))
def test_altered_signature_is_refused(position):
    assert number_from_address(_tamper(reply_address("support@example.test", 1042), position)) is None


def test_signature_of_one_ticket_does_not_open_another():
    signature = reply_address("support@example.test", 1042).split(".", 1)[1]
    assert number_from_address(f"support+1043.{signature}") is None
    assert number_from_address(f"support+10420.{signature}") is None


def test_address_signed_by_another_installation_is_refused(tmp_path):
    other = create_app("testing", {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "another-installation-secret-key"})
    with other.app_context():
        foreign = reply_address("support@example.test", 1042)
    assert number_from_address(foreign) is None


@pytest.mark.parametrize("address", [
    "support@example.test", "support+1042@example.test", "support+1042.@example.test",
    "support+1042.abcdefgh1@example.test", "support+abc.abcdefgh@example.test", "", None, "not an address",
])
def test_address_without_a_valid_token_gives_no_ticket(address):
    assert number_from_address(address) is None


@pytest.mark.parametrize("subject", [
    "[#1042] Printer on fire",
    "Re: [#1042] Printer on fire",
    "RE:[#1042] Printer on fire",
    "AW: Re: [#1042] Printer on fire",
    "WG: [#1042] Printer on fire",
    "YNT: [#1042] Printer on fire",
    "Vá: [#1042] Printer on fire",
    "Fwd: FW: [#1042] Printer on fire",
    "پاسخ: [#1042] Printer on fire",
    "Re: We received your request: Printer on fire [#1042]",
])
def test_subject_tag_is_found_behind_reply_and_forward_prefixes(subject):
    assert number_from_subject(subject) == 1042


@pytest.mark.parametrize("subject", ["Printer on fire", "Re: #1042 Printer", "[#abc] Printer", "[1042]", "", None])
def test_subject_without_a_tag_gives_no_ticket(subject):
    assert number_from_subject(subject) is None


def test_subject_tag_round_trips():
    assert number_from_subject(f"Re: {subject_tag(5000)} Hello") == 5000


def test_an_address_read_again_is_checked_again(tmp_path):
    """The gateway reads each recipient twice per batch (the parts an address claims are remembered): a
    forged signature stays refused however often its ticket's real address was read, and an address signed
    by this installation is refused by one with another secret, after either has read it."""
    genuine = reply_address("support@example.test", 1042)
    forged = _tamper(genuine, 3)
    for _round in range(3):
        assert number_from_address(genuine) == 1042
        assert number_from_address(forged) is None
    other = create_app("testing", {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "another-installation-key!"})
    with other.app_context():
        assert number_from_address(genuine) is None
    assert number_from_address(genuine) == 1042
