"""Records belong to customer accounts (issue 18): a billing account per customer account, found through the account
a login acts for; tickets carry the account they were opened for; members see an account's billing as far as their
permissions go and its tickets when it shares them; the mail gateway finds a sender's account without a query per
message; and migration 0030 moves a 0024 database's billing accounts and tickets to their owners' accounts."""
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from helpdesk.accounts import memberships
from helpdesk.accounts.models import CustomerAccount, Membership, User
from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.billing import access as billing_access
from helpdesk.billing import credit, customers, invoices, orders, plan_changes, services
from helpdesk.billing.models import BillingAccount
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from helpdesk.tickets import access as ticket_access
from helpdesk.tickets import customers as ticket_customers
from helpdesk.tickets import departments, requester_confirmation
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Participant, Ticket
from tests.conftest import make_app
from tests.integration.billing_shop import billing_app, build_shop, order, person

PERMISSIONS = ("tickets", "billing", "services", "vault_view", "vault_edit", "members")


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


def join(account_id, user, *allowed):
    """Make ``user`` a member of ``account_id`` allowed ``allowed`` (permission names) and nothing else."""
    db.session.add(Membership(account_id=account_id, user_id=user.id, is_owner=False,
                              **{f"can_{name}": name in allowed for name in PERMISSIONS}))
    db.session.commit()


def acting_for(user, account_id):
    """What the web door does once it has checked the account a request acts for."""
    user.acting_account_id = account_id
    return user


def agency_world():
    """Carla's account A and Bora's account B, each with an order (a proforma invoice and a pending service) and a
    ticket; Agnes, an agency login, is a member of both with every permission; Mia is a member of A who may
    only open tickets; Sam a member of A who may see services but not billing."""
    shop = build_shop()
    shop.a, shop.b = memberships.default_account_id(shop.carla), memberships.default_account_id(shop.bora)
    shop.carla_order, shop.carla_invoice = order(shop.carla, shop.carla_account, shop.web)
    shop.bora_order, shop.bora_invoice = order(shop.bora, shop.bora_account, shop.domain, cycle="yearly",
                                               currency="TRY")
    shop.agnes, shop.mia, shop.sam = (person("customer", f"{name}@agency.example") for name in ("agnes", "mia", "sam"))
    for account_id in (shop.a, shop.b):
        join(account_id, shop.agnes, *PERMISSIONS)
    join(shop.a, shop.mia, "tickets")
    join(shop.a, shop.sam, "tickets", "services")
    shop.carla_ticket = tickets.open_ticket(shop.carla, subject="Mailbox of Carla is full", body_text="Help.",
                                            acknowledge=False)
    shop.bora_ticket = tickets.open_ticket(shop.bora, subject="DNS of Bora", body_text="Help.", acknowledge=False)
    return shop


@pytest.fixture
def world(app):
    return agency_world()


def ticket_ids(user):
    return set(db.session.scalars(ticket_access.visible_tickets(user).with_only_columns(Ticket.id)))


def share_tickets(account_id, shared=True):
    db.session.get(CustomerAccount, account_id).share_tickets = shared
    db.session.commit()


# --------------------------------------------------------------------------- billing

def test_each_billing_account_belongs_to_its_customers_own_account(world):
    assert world.carla_account.customer_account_id == world.a and world.carla_account.user_id == world.carla.id
    assert world.bora_account.customer_account_id == world.b
    assert customers.account_of(world.carla) is world.carla_account
    assert customers.account_id_of(world.bora) == world.bora_account.id


def test_an_agency_member_sees_the_billing_of_the_account_it_acts_for_and_never_the_others(world):
    agnes = acting_for(world.agnes, world.a)
    assert [row.id for row in invoices.invoices_of(agnes)] == [world.carla_invoice.id]
    assert [row.id for row in orders.orders_of(agnes)] == [world.carla_order.id]
    assert billing_access.get_invoice(agnes, world.carla_invoice.id) is world.carla_invoice
    for read, row in ((billing_access.get_invoice, world.bora_invoice), (billing_access.get_order, world.bora_order),
                      (billing_access.get_service, world.bora_order.services[0])):
        with pytest.raises(NotFound):
            read(agnes, row.id)
    assert invoices.invoices_of(agnes, world.bora_account.id) == []

    agnes = acting_for(world.agnes, world.b)
    assert [row.id for row in invoices.invoices_of(agnes)] == [world.bora_invoice.id]
    with pytest.raises(NotFound):
        billing_access.get_invoice(agnes, world.carla_invoice.id)


def test_an_agency_member_orders_on_the_billing_account_of_the_account_it_acts_for(world):
    agnes = acting_for(world.agnes, world.b)
    assert customers.open_account(agnes, agnes) is world.bora_account
    _placed, invoice = order(agnes, world.bora_account, world.web, currency="TRY")
    assert invoice.account_id == world.bora_account.id and invoice.buyer_name == "Bora Müşteri"
    with pytest.raises(NotFound):
        order(agnes, world.carla_account, world.web)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BillingAccount)) == 2  # no third account


def test_a_member_opening_billing_for_an_account_without_any_opens_the_accounts_own(world):
    cem = person("customer", "cem@example.test")
    c = memberships.default_account_id(cem)
    db.session.get(CustomerAccount, c).name = "Cem Yazılım Ltd."
    join(c, world.agnes, "tickets", "billing")
    agnes = acting_for(world.agnes, c)

    opened = customers.open_account(agnes, agnes)
    customers.update_details(agnes, opened, country="TR", currency="TRY")

    assert opened.customer_account_id == c and opened.user_id == cem.id  # invoices go to the account's owner
    assert opened.name == "Cem Yazılım Ltd." and (opened.country, opened.currency) == ("TR", "TRY")
    assert customers.account_of(cem) is opened
    assert customers.account_of(acting_for(world.agnes, world.a)) is world.carla_account


def test_a_forged_acting_account_falls_back_to_the_logins_own(world):
    mia = acting_for(world.mia, world.b)  # not a member of B
    assert memberships.acting_account_id(mia) != world.b
    with pytest.raises(NotFound):
        billing_access.get_invoice(mia, world.bora_invoice.id)
    with pytest.raises(NotFound):
        ticket_access.get_ticket(mia, world.bora_ticket.number)


def test_a_member_without_the_billing_permission_is_refused_the_accounts_billing(world):
    mia = acting_for(world.mia, world.a)
    for call in (lambda: invoices.invoices_of(mia), lambda: orders.orders_of(mia),
                 lambda: billing_access.get_invoice(mia, world.carla_invoice.id),
                 lambda: billing_access.get_order(mia, world.carla_order.id),
                 lambda: customers.open_account(mia, mia),
                 lambda: customers.update_details(mia, world.carla_account, name="Mia's company"),
                 lambda: order(mia, world.carla_account, world.web)):
        with pytest.raises(NotAllowed):
            call()
    db.session.rollback()
    assert world.carla_account.name == "Carla Kunde"


def test_services_need_the_services_permission_and_billing_stays_closed_without_its_own(world):
    service = world.carla_order.services[0]
    sam = acting_for(world.sam, world.a)
    assert billing_access.get_service(sam, service.id) is service
    assert [row.id for row in services.services_of(sam)] == [service.id]
    with pytest.raises(NotAllowed):
        billing_access.get_invoice(sam, world.carla_invoice.id)
    mia = acting_for(world.mia, world.a)
    with pytest.raises(NotAllowed):
        billing_access.get_service(mia, service.id)
    with pytest.raises(NotAllowed):
        services.services_of(mia)
    with pytest.raises(NotAllowed):
        plan_changes.plan_options(mia, service)
    assert services.ticket_services(mia) == []


def test_staff_read_every_accounts_billing_as_before(world):
    assert billing_access.get_invoice(world.agent, world.bora_invoice.id) is world.bora_invoice
    assert {row.id for row in invoices.invoices_of(world.agent)} == {world.carla_invoice.id, world.bora_invoice.id}


# --------------------------------------------------------------------------- tickets

def test_a_ticket_belongs_to_the_account_its_customer_acts_for(world):
    assert world.carla_ticket.customer_account_id == world.a
    ticket = tickets.open_ticket(acting_for(world.agnes, world.b), subject="For Bora", body_text="x",
                                 acknowledge=False)
    assert ticket.customer_account_id == world.b and ticket.requester_id == world.agnes.id


def test_staff_and_the_system_open_tickets_for_the_requesters_default_account(world):
    by_agent = tickets.open_ticket(world.agent, subject="Called us", body_text="x",
                                   requester_email="carla@example.test", acknowledge=False)
    by_mail = tickets.open_ticket(SYSTEM, subject="Mail", body_text="x", requester_email="bora@example.test",
                                  acknowledge=False)
    assert (by_agent.customer_account_id, by_mail.customer_account_id) == (world.a, world.b)


def test_guests_tickets_belong_to_no_account(world):
    for email in ("carla@example.test", "walk-in@example.test"):
        ticket = tickets.open_ticket(GUEST_FORM, subject="From the form", body_text="x", requester_email=email,
                                     acknowledge=False)
        assert ticket.customer_account_id is None


def test_a_ticket_given_another_requester_moves_to_their_account(world):
    ticket = tickets.open_ticket(world.agent, subject="Called us", body_text="x",
                                 requester_email="carla@example.test", acknowledge=False)
    ticket_customers.change_requester(world.agent, ticket, world.bora)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).customer_account_id == world.b
    assert ticket.id in ticket_ids(world.bora)


def test_a_guest_forms_ticket_joins_its_requesters_account_once_they_confirm_it(world):
    world.carla.password_hash = "scrypt:registered"  # someone can log in as Carla: the form's ticket waits for her
    db.session.commit()
    ticket = tickets.open_ticket(GUEST_FORM, subject="From the form", body_text="x",
                                 requester_email="carla@example.test", acknowledge=False)
    assert ticket.requester_unconfirmed and ticket.customer_account_id is None
    assert requester_confirmation.confirm_requester(ticket)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).customer_account_id == world.a


def test_a_member_without_the_tickets_permission_cannot_open_tickets_for_the_account(world):
    db.session.execute(sa.update(Membership).where(Membership.user_id == world.sam.id)
                       .values(can_tickets=False))
    db.session.commit()
    with pytest.raises(NotAllowed):
        tickets.open_ticket(acting_for(world.sam, world.a), subject="Not mine to ask", body_text="x")
    db.session.rollback()
    assert db.session.scalar(sa.select(Ticket.id).where(Ticket.subject == "Not mine to ask")) is None


def test_members_see_an_accounts_tickets_only_when_it_shares_them_and_they_may(world):
    agnes = acting_for(world.agnes, world.a)
    assert world.carla_ticket.id not in ticket_ids(agnes)
    share_tickets(world.a)
    assert world.carla_ticket.id in ticket_ids(agnes) and ticket_access.can_view(agnes, world.carla_ticket)
    assert world.bora_ticket.id not in ticket_ids(agnes)
    tickets.add_customer_message(agnes, world.carla_ticket, body_text="Agency here: looking into it.")

    agnes = acting_for(world.agnes, world.b)  # acting for B, A's tickets are out of sight
    assert world.carla_ticket.id not in ticket_ids(agnes) and not ticket_access.can_view(agnes, world.carla_ticket)
    with pytest.raises(NotFound):
        ticket_access.get_ticket(agnes, world.carla_ticket.number)

    db.session.execute(sa.update(Membership).where(Membership.user_id == world.mia.id).values(can_tickets=False))
    db.session.commit()
    mia = acting_for(world.mia, world.a)
    assert world.carla_ticket.id not in ticket_ids(mia)


def test_a_customer_still_sees_their_own_tickets_whatever_account_they_act_for(world):
    own = tickets.open_ticket(acting_for(world.agnes, world.a), subject="Agnes asks", body_text="x",
                              acknowledge=False)
    assert own.id in ticket_ids(acting_for(world.agnes, world.b))


# --------------------------------------------------------------------------- the mail gateway

@pytest.fixture
def statements(app):
    """The SQL statements run while the fixture's list is being filled (``statements.clear()`` to start)."""
    seen = []

    def remember(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", remember)


def test_the_mail_gateway_finds_a_senders_account_once_per_batch(app, statements):
    from tests.integration.mail.test_pipeline import deliver

    departments.create_department(SYSTEM, name="Technical", inbound_address="support@example.test",
                                  reply_from_address="support@example.test", signature="The support team")
    carla = person("customer", "carla@example.test")
    own = memberships.default_account_id(carla)
    db.session.commit()
    mails = [f"From: {sender}\r\nTo: support@example.test\r\nSubject: {subject} {n}\r\n"
             f"Message-ID: <{uuid.uuid4().hex}@example.test>\r\n\r\nBody {n}\r\n".encode()
             for n in range(3) for sender, subject in (("carla@example.test", "Known"), ("new@example.test", "New"))]
    statements.clear()

    outcomes = deliver(*mails)

    assert [o.outcome for o in outcomes] == ["new_ticket"] * 6
    lookups = [s for s in statements if "account_memberships" in s and "customer_accounts" in s]
    assert len(lookups) == 1  # the batch's known senders' (Carla's), once; none for the sender this batch created
    assert len([s for s in statements if "FROM contact_addresses" in s]) == 1  # where acknowledgements go: once
    db.session.expire_all()
    newcomer = db.session.scalar(sa.select(User).where(User.email == "new@example.test"))
    theirs = memberships.default_account_id(newcomer)
    assert theirs not in (None, own)
    assert sorted((t.requester_id, t.customer_account_id) for t in db.session.scalars(sa.select(Ticket))) == \
        [(carla.id, own)] * 3 + [(newcomer.id, theirs)] * 3


# --------------------------------------------------------------------------- migration 0030 on a 0024 database



def _insert(conn, table, **values):
    columns = [sa.column(name) for name in values]
    return conn.execute(sa.table(table, sa.column("id"), *columns).insert().values(**values)
                        .returning(sa.column("id"))).scalar_one()


def _fill_0024(conn):
    """As a 0024 desk holds them: Olga (organisation sharing tickets) with a billing account and two tickets, her
    colleague Otto, and a guest ticket typed in Olga's name but never confirmed."""
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    org = _insert(conn, "organisations", name="Olga's Bakery", share_tickets=True, created_at=now)
    ids = SimpleNamespace(org=org)
    ids.olga, ids.otto = (_insert(conn, "users", email=email, full_name=name, role="customer",
                                  organisation_id=org, created_at=now)
                          for email, name in (("olga@bakery.example", "Olga"), ("otto@bakery.example", "Otto")))
    ids.billing = _insert(conn, "billing_accounts", user_id=ids.olga, name="Olga's Bakery Kft.", address="",
                          country="HU", customer_type="business", tax_number="", tax_office="", currency="HUF",
                          created_at=now, updated_at=now)
    # Rows that refer to the billing account and to the tickets (a copy of either table must keep them).
    ids.balance = _insert(conn, "billing_credit_balances", account_id=ids.billing, currency="HUF", balance=5000)
    ids.tickets = []
    for number, unconfirmed in ((1000, False), (1001, False), (1002, True)):
        ids.tickets.append(_insert(conn, "tickets", number=number, subject=f"Oven {number}", status="open",
                                   priority="normal", requester_id=ids.olga, organisation_id=org, source="web",
                                   created_at=now, updated_at=now, last_activity_at=now,
                                   requester_unconfirmed=unconfirmed))
        _insert(conn, "participants", ticket_id=ids.tickets[-1], email="olga@bakery.example", name="Olga",
                role="requester", user_id=None if unconfirmed else ids.olga, created_at=now)
    return ids


def test_migration_0030_moves_a_customers_billing_account_and_tickets_to_their_account(blank_database, tmp_path):
    from flask_migrate import downgrade, upgrade

    app = make_app(blank_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0024")
        with db.engine.begin() as conn:
            ids = _fill_0024(conn)
        upgrade()
        olga, otto = db.session.get(User, ids.olga), db.session.get(User, ids.otto)
        own = memberships.default_account_id(olga)
        billing = db.session.get(BillingAccount, ids.billing)
        assert billing.customer_account_id == own and billing.user_id == olga.id
        assert customers.account_of(olga) is billing
        assert db.session.get(CustomerAccount, own).share_tickets is True
        moved = {row.id: row.customer_account_id for row in db.session.scalars(sa.select(Ticket))}
        assert moved == {ids.tickets[0]: own, ids.tickets[1]: own, ids.tickets[2]: None}
        assert ticket_ids(olga) == set(ids.tickets[:2])  # as before: hers, not the unconfirmed one
        assert ticket_ids(otto) == set(ids.tickets[:2])  # her colleague, as the organisation shared them
        db.session.remove()

        assert credit.balances(SYSTEM, ids.billing) == {"HUF": 5000}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 3
        db.session.remove()

        downgrade(revision="0029")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT user_id FROM billing_accounts")).scalars().all() == [ids.olga]
            assert conn.execute(sa.text("SELECT count(*) FROM participants")).scalar() == 3
            assert conn.execute(sa.text("SELECT balance FROM billing_credit_balances")).scalar() == 5000
        upgrade()
        assert db.session.get(BillingAccount, ids.billing).customer_account_id == own
        assert credit.balances(SYSTEM, ids.billing) == {"HUF": 5000}
        db.session.remove()
        db.engine.dispose()
