"""Who is acting. Users (agents, admins, customers) are actors; so are these non-user actors."""
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemActor:
    """The helpdesk itself acting: the mail gateway, jobs, the CLI, the guest web form."""

    name: str
    id = None
    is_agent = False
    is_admin = False
    is_customer = False
    is_system = True

    @property
    def label(self):
        return f"system:{self.name}"


SYSTEM = SystemActor("system")
MAIL_GATEWAY = SystemActor("mailgateway")
GUEST_FORM = SystemActor("guest-form")
CLI = SystemActor("cli")
