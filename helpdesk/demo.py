"""Demo data for trying helpdesk out: departments, staff, a customer and tickets with threads."""
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.actors import CLI
from helpdesk.extensions import db
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import HIGH, URGENT

ADMIN = ("admin", "admin@example.com", "demo-admin-pass")
AGENT = ("agent", "agent@example.com", "demo-agent-pass")
CUSTOMER = ("customer", "customer@example.com", "demo-customer-pass")


def load_demo():
    """Create the demo records once; returns (created?, [(role, login, password)])."""
    logins = [ADMIN, AGENT, CUSTOMER]
    if db.session.scalar(sa.select(User.id).where(User.email == ADMIN[1])):
        return False, logins
    technical = tickets.create_department(CLI, name="Technical", inbound_address="support@example.com",
                                          reply_from_address="support@example.com",
                                          signature="Example Hosting — Technical support")
    billing = tickets.create_department(CLI, name="Billing", inbound_address="billing@example.com",
                                        reply_from_address="billing@example.com")
    org = accounts.create_organisation(CLI, name="Acme GmbH", customer_number="C-10001")
    admin = accounts.create_user(CLI, email=ADMIN[1], full_name="Ada Admin", role="admin", password=ADMIN[2])
    agent = accounts.create_user(CLI, email=AGENT[1], full_name="Alex Agent", role="agent", password=AGENT[2])
    tickets.add_agent_to_department(CLI, technical, agent)
    tickets.add_agent_to_department(CLI, billing, admin)
    customer = accounts.create_user(CLI, email=CUSTOMER[1], full_name="Chris Customer", role="customer",
                                    password=CUSTOMER[2], organisation=org)

    first = tickets.open_ticket(customer, subject="Server unreachable since this morning", department=technical,
                                priority=URGENT, body_text="Our web server at 203.0.113.10 stopped answering "
                                "at 07:40. Can you check?", cc=["ops@acme.example"])
    tickets.add_agent_reply(agent, first, body_text="We are on it: the host lost its uplink. We will update "
                            "you within 30 minutes.")
    tickets.add_internal_note(agent, first, body_text="Switch port 14 flapping; datacenter ticket DC-4411.")
    tickets.add_customer_message(customer, first, body_text="Thanks, it is back up. What caused it?")

    second = tickets.open_ticket(CLI, subject="Invoice 2026-0042 charged twice", department=billing, priority=HIGH,
                                 requester_email="guest@example.org", requester_name="Gabi Guest",
                                 body_text="My card was charged twice for invoice 2026-0042.", source="email")
    tickets.add_agent_reply(admin, second, body_text="Sorry about that: we refunded the second charge today.")
    tickets.close(admin, second)

    tickets.open_ticket(customer, subject="How do I add a DNS record?", department=technical,
                        body_text="Where in the panel can I add a TXT record for domain verification?")
    return True, logins
