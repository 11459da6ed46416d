"""The periodic SLA job: flags breached clocks and mails the agents (run next to the outbox sweep)."""
from helpdesk.actors import SYSTEM
from helpdesk.tickets import sla


def flag_breaches() -> int:
    """Flag every newly breached SLA clock once (safe to run in several processes at once)."""
    return sla.flag_breaches(SYSTEM)
