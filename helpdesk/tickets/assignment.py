"""Who a ticket may be assigned to: the one rule the console's choices and every door's changes share."""
import sqlalchemy as sa

from helpdesk.accounts.models import ROLE_ADMIN, ROLE_AGENT, User
from helpdesk.extensions import db
from helpdesk.tickets.models import department_agents


def _eligible(department_id):
    """Active agents of the department and admins; every active agent and admin without a department."""
    query = sa.select(User).where(User.active.is_(True))
    if department_id is None:
        return query.where(User.role.in_((ROLE_AGENT, ROLE_ADMIN)))
    members = sa.select(department_agents.c.user_id).where(department_agents.c.department_id == department_id)
    return query.where(sa.or_(User.role == ROLE_ADMIN, sa.and_(User.role == ROLE_AGENT, User.id.in_(members))))


def assignable_agents(ticket) -> list:
    """The people ``ticket`` may be assigned to, by name; its current assignee stays among them, wherever
    they work now."""
    agents = db.session.scalars(_eligible(ticket.department_id).order_by(User.full_name, User.email)).all()
    if ticket.assignee is not None and ticket.assignee not in agents:
        agents.append(ticket.assignee)
    return agents


def may_assign(actor, user, ticket, department_id) -> bool:
    """True if ``actor`` may give ``ticket``, once it is in ``department_id``, to ``user``: an active agent of
    that department or an admin (what the console offers), the actor themself, or the ticket's current
    assignee (a change elsewhere keeps them). Admins may hand a ticket to any agent."""
    if (ticket.assignee_id is not None and user.id == ticket.assignee_id) or user.id == getattr(actor, "id", None):
        return True
    if getattr(actor, "is_admin", False) or getattr(actor, "is_system", False):
        return True
    return db.session.scalar(_eligible(department_id).where(User.id == user.id).with_only_columns(User.id)) is not None
