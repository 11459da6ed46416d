"""The ticket intake rules on their own: each decides one thing from what a door proved about the sender
and what arrived, without a database (agents' department scope is in tests/integration/test_ticket_intake.py)."""
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from helpdesk.tickets import intake
from helpdesk.tickets.models import CLOSED, OPEN

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CUSTOMER = intake.Sender("carla@example.test", "Carla")
STRANGER = intake.Sender("sam@example.test", "Sam")
AGENT = SimpleNamespace(id=7, email="agent@example.test")
LINK = intake.Policy(closed_new_ticket_after_days=30)
QUARANTINE = intake.Policy(stranger_policy=intake.QUARANTINE)


def _ticket(status=OPEN, closed_days_ago=None, emails=("carla@example.test", "colin@example.test")):
    closed_at = NOW - timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    # A guest's ticket (no requester account): confirmed support addresses are the integration tests' part.
    return SimpleNamespace(number=1042, status=status, closed_at=closed_at, requester=None,
                           requester_unconfirmed=False, participants=[SimpleNamespace(email=e) for e in emails])


def test_requester_and_cc_may_write_on_their_ticket_a_stranger_may_not():
    ticket = _ticket()
    assert intake.may_write(ticket, CUSTOMER)
    assert intake.may_write(ticket, intake.Sender("colin@example.test"))
    assert not intake.may_write(ticket, STRANGER)


def test_a_participant_the_door_could_not_vouch_for_may_not_write():
    assert not intake.may_write(_ticket(), intake.Sender("carla@example.test", authenticated=False))


def test_ticket_closed_longer_than_the_policy_allows_is_closed_too_long():
    assert intake.closed_too_long(_ticket(CLOSED, closed_days_ago=31), LINK, NOW)
    assert not intake.closed_too_long(_ticket(CLOSED, closed_days_ago=29), LINK, NOW)
    assert not intake.closed_too_long(_ticket(OPEN, closed_days_ago=400), LINK, NOW)
    assert not intake.closed_too_long(_ticket(CLOSED, closed_days_ago=400), intake.Policy(), NOW)  # 0: never


def test_reply_on_a_long_closed_ticket_opens_a_linked_one_a_recent_one_is_a_message():
    old, recent = _ticket(CLOSED, closed_days_ago=90), _ticket(CLOSED, closed_days_ago=2)
    linked = intake.decide(CUSTOMER, intake.Arrival(ticket=old), LINK, NOW)
    assert (linked.action, linked.ticket, linked.requester_email) == (intake.NEW_TICKET, old, CUSTOMER.email)
    assert intake.decide(CUSTOMER, intake.Arrival(ticket=recent), LINK, NOW).action == intake.CUSTOMER_MESSAGE


def test_stranger_opens_a_linked_ticket_or_is_refused_by_policy():
    ticket = _ticket()
    linked = intake.stranger_action(ticket, STRANGER, intake.Policy())
    assert (linked.action, linked.ticket, linked.requester_email) == (intake.NEW_TICKET, ticket, STRANGER.email)
    refused = intake.stranger_action(ticket, STRANGER, QUARANTINE)
    assert refused.refused
    assert (refused.reason, refused.params) == (intake.STRANGER, {"number": 1042, "sender": STRANGER.email})


def test_unauthenticated_or_ambiguous_sender_is_refused_on_a_ticket_whatever_the_stranger_policy():
    ticket = _ticket()
    spoofed = intake.Sender("carla@example.test", authenticated=False)
    ambiguous = intake.Sender("carla@example.test", authenticated=False, ambiguous=True)
    for policy in (intake.Policy(), QUARANTINE):
        decision = intake.decide(spoofed, intake.Arrival(ticket=ticket), policy, NOW)
        assert (decision.action, decision.reason, decision.params) == (
            intake.REFUSE, intake.UNAUTHENTICATED, {"number": 1042})
        assert intake.decide(ambiguous, intake.Arrival(ticket=ticket), policy, NOW).reason == intake.AMBIGUOUS_SENDER
    assert intake.refuse_unauthenticated(ticket, CUSTOMER) is None


def test_unauthenticated_sender_may_still_open_a_ticket_of_their_own():
    spoofed = intake.Sender("carla@example.test", authenticated=False)
    decision = intake.decide(spoofed, intake.Arrival(), intake.Policy(), NOW)
    assert (decision.action, decision.ticket, decision.requester_email) == (intake.NEW_TICKET, None, spoofed.email)


def test_agent_forward_opens_the_ticket_for_the_original_sender():
    agent = intake.Sender(AGENT.email, "Alex", agent=AGENT)
    decision = intake.forward_requester(agent, ("Olga Original", "olga@example.test"))
    assert (decision.requester_email, decision.requester_name, decision.opened_by_agent) == (
        "olga@example.test", "Olga Original", True)
    own = intake.forward_requester(agent, None)
    assert (own.requester_email, own.opened_by_agent) == (AGENT.email, False)


def test_a_customer_forward_stays_the_customers_own_ticket():
    decision = intake.forward_requester(CUSTOMER, ("Olga Original", "olga@example.test"))
    assert (decision.requester_email, decision.opened_by_agent) == (CUSTOMER.email, False)


def test_copied_in_addresses_leave_out_sender_and_requester_and_stop_at_the_limit():
    arrival = intake.Arrival(cc=("carla@example.test", "dave@example.test", "dave@example.test",
                                 *(f"cc{n}@example.test" for n in range(30))))
    cc = intake.cc_for(arrival, exclude={"Carla@Example.test", None})
    assert cc[0] == "dave@example.test" and "carla@example.test" not in cc
    assert len(cc) == intake.CC_MAX and len(set(cc)) == len(cc)


def test_policy_is_read_from_the_configuration():
    config = {"MAIL_CLOSED_NEW_TICKET_AFTER_DAYS": "14", "MAIL_STRANGER_POLICY": "quarantine"}
    policy = intake.Policy.from_config(config)
    assert policy == intake.Policy(closed_new_ticket_after_days=14, stranger_policy=intake.QUARANTINE)
    assert intake.Policy.from_config({}) == intake.Policy()
