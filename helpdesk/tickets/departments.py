"""Departments: the teams agents work in, each with its own inbound and reply addresses and signature.
Admins (and the system) create and change them and choose their members."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from helpdesk import audit
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import ROLE_ADMIN, ROLE_AGENT, User
from helpdesk.db import commit_service_call
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name, strip_control
from helpdesk.tickets.models import Department

SIGNATURE_MAX = 5000


def _require_admin(actor):
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()


def _check_name(errors, others, name):
    """Required and unique among ``others`` (a select of the other departments' ids)."""
    name = clean_name(name, limit=100)  # the column's length; PostgreSQL refuses longer
    if not name:
        errors["name"] = _l("Enter a name.")
    elif db.session.scalar(others.where(Department.name == name)):
        errors["name"] = _l("A department with this name already exists.")
    return name


def _check_addresses(errors, others, inbound_address, reply_from_address):
    """Optional and valid; no two departments receive at one inbound address (mail would not know its
    department)."""
    fields = {}
    for field, value in (("inbound_address", inbound_address), ("reply_from_address", reply_from_address)):
        fields[field] = accounts.check_email(errors, field, value) if (value or "").strip() else None
    if fields["inbound_address"] and db.session.scalar(
            others.where(sa.func.lower(Department.inbound_address) == fields["inbound_address"])):
        errors["inbound_address"] = _l("Another department already receives mail at this address.")
    return fields


def _check_signature(errors, signature):
    signature = strip_control(signature or "").strip()
    if len(signature) > SIGNATURE_MAX:
        errors["signature"] = _l("Use at most %(num)d characters.", num=SIGNATURE_MAX)
    return signature


def _check_department_fields(department, name, inbound_address, reply_from_address, signature):
    """A department's cleaned columns (ValidationFailed with every field error)."""
    errors = {}
    others = sa.select(Department.id)
    if department is not None:
        others = others.where(Department.id != department.id)
    fields = {"name": _check_name(errors, others, name)}
    fields.update(_check_addresses(errors, others, inbound_address, reply_from_address))
    fields["signature"] = _check_signature(errors, signature)
    if errors:
        raise ValidationFailed(errors)
    return fields


def create_department(actor, *, name, inbound_address=None, reply_from_address=None, signature="") -> Department:
    """Create a department (admins and the system)."""
    _require_admin(actor)
    fields = _check_department_fields(None, name, inbound_address, reply_from_address, signature)
    department = Department(**fields)
    db.session.add(department)
    db.session.flush()
    audit.record(actor, "department", department.id, "created", {"name": fields["name"]})
    commit_service_call(db.session)
    return department


def update_department(actor, department, *, name, inbound_address=None, reply_from_address=None,
                      signature="") -> Department:
    """Change a department's name, addresses and signature (admins and the system; validated as on creation)."""
    _require_admin(actor)
    fields = _check_department_fields(department, name, inbound_address, reply_from_address, signature)
    changes = {}
    for column, value in fields.items():
        if getattr(department, column) != value:
            changes[column] = [getattr(department, column), value] if column != "signature" else True
            setattr(department, column, value)
    if changes:
        audit.record(actor, "department", department.id, "changed", changes)
    commit_service_call(db.session)
    return department


def add_agent_to_department(actor, department, agent) -> None:
    """Make ``agent`` a member of ``department`` (admins and the system)."""
    _require_admin(actor)
    if not agent.is_agent:
        raise ValidationFailed({"agent": _l("Only agents can join departments.")})
    if agent not in department.agents:
        department.agents.append(agent)
        audit.record(actor, "department", department.id, "agent-added", {"agent": agent.id})
    commit_service_call(db.session)


# --------------------------------------------------------------------------- reading

def _require_staff(actor):
    if not (actor.is_system or actor.is_agent):
        raise NotAllowed()


def departments_for(actor):
    """A select of every department, for staff (the console's lists); callers add order and limits."""
    _require_staff(actor)
    return sa.select(Department)


def agents_for(actor):
    """A select of the active agents and admins with their departments loaded, for staff (whom to assign to,
    whom to ask); callers add order and limits."""
    _require_staff(actor)
    return (sa.select(User).where(User.role.in_((ROLE_AGENT, ROLE_ADMIN)), User.active.is_(True))
            .options(selectinload(User.departments)))
