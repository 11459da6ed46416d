"""Who a ticket may be assigned to: the one rule the console's choices and every door's changes share."""
import sqlalchemy as sa

from helpdesk.accounts.models import ROLE_ADMIN, ROLE_AGENT, User
from helpdesk.extensions import db
from helpdesk.tickets.models import department_agents


def _eligible(department_id, generalists=True):
    """Active admins and the active agents who work the department: its members and, with ``generalists``,
    agents in no department (they work every one, as access.visible_tickets has it); every active agent and
    admin for a ticket without a department."""
    query = sa.select(User).where(User.active.is_(True))
    if department_id is None:
        return query.where(User.role.in_((ROLE_AGENT, ROLE_ADMIN)))
    works_here = User.id.in_(sa.select(department_agents.c.user_id)
                             .where(department_agents.c.department_id == department_id))
    if generalists:
        works_here = sa.or_(works_here, ~sa.exists().where(department_agents.c.user_id == User.id))
    return query.where(sa.or_(User.role == ROLE_ADMIN, sa.and_(User.role == ROLE_AGENT, works_here)))


def assignable_agents(ticket) -> list:
    """Whom the console offers for ``ticket``, by name: its department's agents and the admins (and its
    current assignee, wherever they work now). ``may_assign`` also accepts agents of no department."""
    agents = db.session.scalars(_eligible(ticket.department_id, generalists=False)
                                .order_by(User.full_name, User.email)).all()
    if ticket.assignee is not None and ticket.assignee not in agents:
        agents.append(ticket.assignee)
    return agents


def may_assign(actor, user, ticket, department_id) -> bool:
    """True if ``actor`` may give ``ticket``, once it is in ``department_id``, to ``user``: an admin or an
    active agent who works that department (a member, or an agent of no department), the actor themself, or
    the ticket's current assignee (a change elsewhere keeps them). Admins may hand a ticket to any agent;
    an agent of another department, who could not even see it, is refused."""
    if (ticket.assignee_id is not None and user.id == ticket.assignee_id) or user.id == getattr(actor, "id", None):
        return True
    if getattr(actor, "is_admin", False) or getattr(actor, "is_system", False):
        return True
    return db.session.scalar(_eligible(department_id).where(User.id == user.id).with_only_columns(User.id)) is not None
