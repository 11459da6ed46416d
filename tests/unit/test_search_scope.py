"""Search visibility is read from the access rule's SELECT, not written twice: what the index can express
becomes a filter, what it cannot widens it (the database checks every hit), never narrows it."""
import sqlalchemy as sa

from helpdesk.search.backend import AllOf, AnyOf, Is, Nothing
from helpdesk.search.scope import filter_from_select
from helpdesk.tickets.models import Participant, Ticket

COLUMNS = {"id": ("id", None), "status": ("status", None), "department_id": ("department", "none"),
           "assignee_id": ("assignee", "none")}


def translate(*where):
    return filter_from_select(sa.select(Ticket).where(*where), Ticket.__table__, COLUMNS)


def test_an_agents_rule_becomes_the_same_filter():
    rule = sa.or_(Ticket.department_id.in_([3, 4]), Ticket.department_id.is_(None), Ticket.assignee_id == 7)

    assert translate(rule) == AnyOf(Is("department", "3", "4"), Is("department", "none"), Is("assignee", "7"))


def test_no_where_clause_allows_everything_and_false_allows_nothing():
    assert filter_from_select(sa.select(Ticket), Ticket.__table__, COLUMNS) is None
    assert translate(sa.false()) == Nothing()
    assert translate(Ticket.department_id.in_([])) == Nothing()


def test_conditions_the_index_lacks_widen_the_filter():
    in_subquery = Ticket.id.in_(sa.select(Participant.ticket_id).where(Participant.user_id == 1))
    # An OR with one part the index cannot check: anything may match.
    assert translate(sa.or_(Ticket.requester_id == 1, in_subquery)) is None
    # An AND keeps the parts it can check.
    assert translate(Ticket.requester_unconfirmed.is_(False), Ticket.status == "open") == Is("status", "open")
    assert translate(Ticket.status == "open", Ticket.department_id == 2) == AllOf(Is("status", "open"),
                                                                               Is("department", "2"))
    assert translate(Ticket.status != "open") is None
