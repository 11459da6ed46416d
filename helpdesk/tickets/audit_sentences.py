"""The ticket store's audit actions as sentences (tickets, departments, canned responses, SLA settings, the
customer links it records on users), and how the trail names its objects. Registered on import."""
import sqlalchemy as sa

from helpdesk.audit.sentences import Ref, pair, register, register_kind
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets.canned import CannedResponse
from helpdesk.tickets.events import describe_event
from helpdesk.tickets.models import PRIORITIES, Department, Ticket
from helpdesk.tickets.satisfaction import RATINGS
from helpdesk.tickets.sla.calendar_admin import WEEKDAYS
from helpdesk.tickets.sla_models import Holiday, SLACalendar, SLATarget


def _rows(*columns, ids):
    return db.session.execute(sa.select(*columns).where(columns[0].in_(ids))).all()


def _tickets(ids):
    return {i: Ref("ticket", i, str(number), key=number) for i, number in _rows(Ticket.id, Ticket.number, ids=ids)}


def _departments(ids):
    return {i: Ref("department", i, name, key=i) for i, name in _rows(Department.id, Department.name, ids=ids)}


def _canned(ids):
    return {i: Ref("canned_response", i, title, key=i)
            for i, title in _rows(CannedResponse.id, CannedResponse.title, ids=ids)}


def _holidays(ids):
    return {i: Ref("sla_holiday", i, name or day.isoformat(), key=i)
            for i, day, name in _rows(Holiday.id, Holiday.day, Holiday.name, ids=ids)}


def _targets(ids):
    return {i: Ref("sla_target", i, f"#{i}", key=i) for (i,) in _rows(SLATarget.id, ids=ids)}


def _calendars(ids):
    rows = _rows(SLACalendar.id, SLACalendar.name, SLACalendar.is_default, ids=ids)
    return {i: Ref("sla_calendar", i, name, key="default" if is_default else i) for i, name, is_default in rows}


def ticket_number(number) -> Ref | str:
    """A ticket named by its number (as merges and KB feedback record it)."""
    return Ref("ticket", None, str(number), key=number) if isinstance(number, int) else ""


register_kind("ticket", name=_l("Ticket"), describe=_tickets, placeholder="number")
register_kind("department", name=_l("Department"), describe=_departments)
register_kind("canned_response", name=_l("Canned response"), describe=_canned, placeholder="title")
register_kind("sla_target", name=_l("SLA target"), describe=_targets, placeholder="target")
register_kind("sla_business_hours", name=_l("Business hours"), describe=lambda ids: {})
register_kind("sla_holiday", name=_l("Holiday"), describe=_holidays)
register_kind("sla_calendar", name=_l("SLA calendar"), describe=_calendars)
register_kind("sla_department_calendars", name=_l("Departments' SLA calendars"), describe=lambda ids: {})


# --------------------------------------------------------------------------- tickets

def _status_changed(reading):
    old, new = pair(reading.changes.get("status"))
    return describe_event({"type": "status", "from": old, "to": new})


def _rated(reading):
    old, new = pair(reading.changes.get("rating"))
    label = RATINGS.get(new, _l("another rating"))
    if old:
        return reading.sentence(_l("Changed the rating to: %(rating)s"), rating=label)
    return reading.sentence(_l("Rated the ticket: %(rating)s"), rating=label)


def _ticket_changed(reading):
    """A sentence per field an ``update_ticket`` call changed."""
    changes, told = reading.changes, []
    if "subject" in changes:
        old, new = pair(changes["subject"])
        told.append(reading.sentence(_l("Subject changed from “%(old)s” to “%(new)s”."), old=old or "",
                                     new=new or ""))
    if "priority" in changes:
        old, new = pair(changes["priority"])
        told.append(describe_event({"type": "priority", "from": old, "to": new}))
    if "department" in changes:
        old, new = pair(changes["department"])
        old, new = reading.ref("department", old), reading.ref("department", new)
        if not new:
            told.append(reading.sentence(_l("Department %(old)s removed."), old=old))
        elif not old:
            told.append(reading.sentence(_l("Department set to %(new)s."), new=new))
        else:
            told.append(reading.sentence(_l("Department changed from %(old)s to %(new)s."), old=old, new=new))
    if "assignee" in changes:
        new = reading.ref("user", pair(changes["assignee"])[1])
        told.append(reading.sentence(_l("Assigned to %(name)s."), name=new) if new
                    else reading.sentence(_l("No longer assigned to anyone.")))
    return told or [reading.sentence(_l("Changed the ticket."))]


# The thread events an agent or the gateway records on their own ("events" rows), by their type.
EVENT_NAMES = {
    "bounce": _l("a delivery failure"),
    "auto-reply": _l("an automatic reply"),
    "not-acknowledged": _l("no acknowledgement sent"),
    "attachment-dropped": _l("an attachment not kept"),
    "cc-dropped": _l("an address not added in copy"),
    "sender-fallback": _l("a sender taken from another header"),
    "sla-breach": _l("a missed SLA target"),
    "linked": _l("a follow-up of another ticket"),
}


def _events(reading):
    types = reading.changes.get("types")
    names = [EVENT_NAMES.get(t, _l("another event")) for t in (types if isinstance(types, list) else [])]
    return reading.sentence(_l("Recorded events: %(types)s"), types=names)


def _merged(reading):
    return reading.sentence(_l("Merged this ticket into ticket #%(into)s."),
                            into=ticket_number(reading.changes.get("into")))


def _merged_in(reading):
    return reading.sentence(_l("Merged ticket #%(from)s into this ticket."),
                            **{"from": ticket_number(reading.changes.get("from"))})


def _requester_changed(reading):
    old, new = pair(reading.changes.get("requester"))
    return reading.sentence(_l("The requester changed from %(old)s to %(new)s."), old=reading.ref("user", old),
                            new=reading.ref("user", new))


def _organisation_changed(reading):
    old, new = pair(reading.changes.get("organisation"))
    if new is not None:
        return reading.sentence(_l("Organisation set to %(name)s."), name=reading.ref("organisation", new))
    return reading.sentence(_l("Organisation %(name)s removed."), name=reading.ref("organisation", old))


def _sla_breached(reading):
    if reading.changes.get("clock") == "first_response":
        return reading.sentence(_l("The first response target was breached."))
    return reading.sentence(_l("The resolution target was breached."))


register("ticket", "opened", _l("Opened the ticket."))
register("ticket", "customer-message", _l("Added a message from the customer side."))
register("ticket", "agent-reply", _l("Replied to the customer."))
register("ticket", "internal-note", _l("Added an internal note."))
register("ticket", "cc-added", _l("Added %(emails)s in copy."))
register("ticket", "cc-removed", _l("Removed %(email)s from copy."))
register("ticket", "status-changed", _status_changed)
register("ticket", "rated", _rated)
register("ticket", "events", _events)
register("ticket", "changed", _ticket_changed, refs={"department": "department", "assignee": "user"})
register("ticket", "requester-confirmed", _l("The requester confirmed by email that they sent this request."))
register("ticket", "merged", _merged)
register("ticket", "merged-in", _merged_in)
register("ticket", "requester-changed", _requester_changed, refs={"requester": "user"})
register("ticket", "organisation-changed", _organisation_changed, refs={"organisation": "organisation"})
register("ticket", "sla-breached", _sla_breached)
register("ticket", "guest-links-revoked", _l("Revoked every guest link to this ticket sent so far."))

# The customer links the ticket store records on users.
register("user", "organisation-linked", _l("Linked %(name)s to the organisation %(organisation)s."),
         refs={"organisation": "organisation"})
register("user", "email-changed", lambda reading: reading.sentence(
    _l("Changed the email address of %(name)s from %(old)s to %(new)s."),
    old=pair(reading.changes.get("email"))[0] or "", new=pair(reading.changes.get("email"))[1] or ""))


# --------------------------------------------------------------------------- departments, canned responses

DEPARTMENT_FIELDS = {"name": _l("name"), "inbound_address": _l("inbound address"),
                     "reply_from_address": _l("reply-from address"), "signature": _l("signature")}
CANNED_FIELDS = {"title": _l("title"), "body": _l("text"), "department": _l("department")}


def _fields(names, reading):
    return [names.get(key, _l("other settings")) for key in reading.changes]


register("department", "created", _l("Created the department %(name)s."))
register("department", "changed", lambda reading: reading.sentence(
    _l("Changed the department %(name)s: %(fields)s."), fields=_fields(DEPARTMENT_FIELDS, reading)))
register("department", "agent-added", _l("Added %(agent)s to the department %(name)s."), refs={"agent": "user"})

register("canned_response", "created", _l("Created the canned response “%(title)s”."))
register("canned_response", "changed", lambda reading: reading.sentence(
    _l("Changed the canned response “%(title)s”: %(fields)s."), fields=_fields(CANNED_FIELDS, reading)))
register("canned_response", "deleted", _l("Deleted the canned response “%(title)s”."))


# --------------------------------------------------------------------------- SLA settings

def _target(template_for_one, template_for_all):
    def sentence(reading):
        department = reading.ref("department", reading.changes.get("department"))
        priority = PRIORITIES.get(reading.changes.get("priority"), _l("another priority"))
        if department:
            return reading.sentence(template_for_one, department=department, priority=priority)
        return reading.sentence(template_for_all, priority=priority)
    return sentence


register("sla_target", "saved", _target(_l("Set the SLA target for %(priority)s tickets of %(department)s."),
                                        _l("Set the SLA target for %(priority)s tickets of all departments.")),
         refs={"department": "department"})
register("sla_target", "deleted", _target(
    _l("Removed the SLA target for %(priority)s tickets of %(department)s."),
    _l("Removed the SLA target for %(priority)s tickets of all departments.")), refs={"department": "department"})
register("sla_business_hours", "saved", _l("Changed the business hours."))
register("sla_holiday", "added", _l("Added the holiday %(name)s on %(day)s."))
register("sla_holiday", "removed", _l("Removed the holiday on %(day)s."))


def _window(template):
    def sentence(reading):
        weekday = reading.changes.get("weekday")
        return reading.sentence(template, weekday=WEEKDAYS.get(weekday, "") if isinstance(weekday, int) else "")
    return sentence


def _calendar_changed(reading):
    if reading.changes.get("around_the_clock"):
        return reading.sentence(_l("Changed the SLA calendar %(name)s: it counts around the clock (24/7)."))
    return reading.sentence(_l("Changed the SLA calendar %(name)s: it counts in its business hours."))


def _department_calendars(reading):
    """{department id: calendar id or None}: which calendar each department's clocks count in."""
    choices = {int(k): v for k, v in reading.changes.items() if str(k).isdigit()}
    departments = _departments(set(choices))
    calendars = _calendars({v for v in choices.values() if isinstance(v, int)})
    told = []
    for department_id, calendar_id in sorted(choices.items()):
        department = departments.get(department_id) or Ref("department", department_id, f"#{department_id}")
        if calendar_id is None:
            told.append(reading.sentence(_l("%(department)s uses the desk's default SLA calendar again."),
                                         department=department))
        else:
            calendar = calendars.get(calendar_id) or Ref("sla_calendar", calendar_id, f"#{calendar_id}")
            told.append(reading.sentence(_l("%(department)s uses the SLA calendar %(calendar)s."),
                                         department=department, calendar=calendar))
    return told or [reading.sentence(_l("Changed which SLA calendar the departments use."))]


register("sla_calendar", "created", _l("Created the SLA calendar %(name)s."))
register("sla_calendar", "updated", _calendar_changed)
register("sla_calendar", "deleted", _l("Removed the SLA calendar %(name)s."))
register("sla_calendar", "window-added", _window(_l("Added the window %(weekday)s %(opens)s–%(closes)s to the SLA "
                                                    "calendar %(name)s.")))
register("sla_calendar", "window-removed", _window(_l("Removed the window %(weekday)s %(opens)s–%(closes)s from the "
                                                      "SLA calendar %(name)s.")))
register("sla_department_calendars", "saved", _department_calendars)
