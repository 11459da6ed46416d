"""People: customers, customer accounts with their members, organisations, departments and agents.

Staff read and change customers as in the console; a customer reads the accounts they belong to and, with the
members permission, manages their members as in the portal (an address they add is invited by email)."""
from flask import jsonify
from marshmallow import Schema, fields

from helpdesk.accounts import directory, invitations, members
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import PERMISSIONS, ROLE_CUSTOMER, CustomerAccount, Organisation, User
from helpdesk.api.core import (
    NOT_MODIFIED,
    PageArgs,
    actor,
    check_if_match,
    keyset_page,
    new_blueprint,
    page_schema,
    problem_answers,
    scoped,
    with_etag,
)
from helpdesk.api.idempotency import idempotent
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import departments
from helpdesk.tickets.models import Department

bp = new_blueprint("people", __name__, _l("Customers, customer accounts and their members, organisations, "
                                          "departments and agents."))

STALE = problem_answers(412)
IN_USE = problem_answers(409)


# --------------------------------------------------------------------------- schemas

class CustomerSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    username = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True)
    locale = fields.String(allow_none=True, required=True)
    timezone = fields.String(allow_none=True, required=True)
    organisation_id = fields.Integer(allow_none=True, required=True)
    company_name = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)
    has_password = fields.Function(lambda user: bool(user.password_hash), required=True,
                                   metadata={"type": "boolean", "description": "Whether they can log in yet"})
    created_at = fields.DateTime(required=True)


class CustomerQuery(PageArgs):
    q = fields.String(metadata={"description": "Part of the name or address"})


class NewCustomerSchema(Schema):
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    username = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)


class CustomerChangeSchema(Schema):
    full_name = fields.String()
    phone = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)


class OrganisationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    customer_number = fields.String(allow_none=True, required=True)
    share_tickets = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class AccountSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["individual", "business"]})
    share_tickets = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class MemberSchema(Schema):
    user_id = fields.Integer(required=True)
    email = fields.Function(lambda m: m.user.email, required=True, metadata={"type": "string"})
    full_name = fields.Function(lambda m: m.user.full_name, required=True, metadata={"type": "string"})
    owner = fields.Boolean(attribute="is_owner", required=True)
    permissions = fields.Function(members.granted, required=True,
                                  metadata={"type": "array", "items": {"type": "string", "enum": list(PERMISSIONS)}})
    joined_at = fields.DateTime(attribute="created_at", required=True)


class MembersSchema(Schema):
    items = fields.List(fields.Nested(MemberSchema), required=True)


class NewMemberSchema(Schema):
    email = fields.String(required=True)
    permissions = fields.List(fields.String(metadata={"enum": list(PERMISSIONS)}), load_default=list)
    owner = fields.Boolean(load_default=False, metadata={"description": "Staff only: make them an owner"})


class InvitationSchema(Schema):
    email = fields.String(required=True)
    permissions = fields.List(fields.String(), required=True)
    expires_at = fields.DateTime(required=True)


class DepartmentSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    inbound_address = fields.String(allow_none=True, required=True)
    reply_from_address = fields.String(allow_none=True, required=True)


class DepartmentRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class AgentSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["agent", "admin"]})
    locale = fields.String(allow_none=True, required=True)
    departments = fields.List(fields.Nested(DepartmentRefSchema), required=True)


class SearchPageArgs(PageArgs):
    q = fields.String(metadata={"description": "Part of the name (or, for accounts, a member's address)"})


def _page(query, column, args):
    return keyset_page(query, column, after=args.get("after"), before=args.get("before"), limit=args["limit"])


# --------------------------------------------------------------------------- customers

@bp.route("/customers")
@bp.arguments(CustomerQuery, location="query")
@bp.response(200, page_schema(CustomerSchema, "CustomerPage"))
@scoped("customers:read")
def list_customers(args):
    """Customers, newest first (staff); ``q`` finds part of a name or address."""
    return _page(directory.customers(actor(), args.get("q")), User.id, args)


@bp.route("/customers/<id:customer_id>")
@bp.response(200, CustomerSchema)
@bp.doc(responses=NOT_MODIFIED)
@scoped("customers:read")
def read_customer(customer_id):
    """One customer (staff), with its ETag."""
    return with_etag(CustomerSchema().dump(directory.get_customer(actor(), customer_id)))


@bp.route("/customers", methods=["POST"])
@idempotent
@bp.arguments(NewCustomerSchema)
@bp.response(201, CustomerSchema)
@bp.doc(responses=IN_USE)
@scoped("customers:write")
def create_customer(data):
    """Create a customer login (admins, as the console's user creation): they get the welcome mail with a link to
    choose their password. An address known only from earlier mail is taken over with its tickets."""
    user = accounts.create_user(actor(), email=data["email"], full_name=data["full_name"], role=ROLE_CUSTOMER,
                                username=data.get("username") or None, locale=data.get("locale") or None,
                                welcome=True)
    return with_etag(CustomerSchema().dump(user), 201)


@bp.route("/customers/<id:customer_id>", methods=["PATCH"])
@bp.arguments(CustomerChangeSchema)
@bp.response(200, CustomerSchema)
@bp.doc(responses=STALE)
@scoped("customers:write")
def change_customer(data, customer_id):
    """Change a customer's name, phone, language or time zone (admins, as for their own profile; null clears).
    Send If-Match with the ETag you read: a stale one gets 412."""
    user = directory.get_customer(actor(), customer_id)
    check_if_match(CustomerSchema().dump(user))
    changes = {name: ("" if value is None else value) for name, value in data.items()}
    user = accounts.update_profile(actor(), user, **changes)
    return with_etag(CustomerSchema().dump(user))


# --------------------------------------------------------------------------- organisations, departments, agents

@bp.route("/organisations")
@bp.arguments(SearchPageArgs, location="query")
@bp.response(200, page_schema(OrganisationSchema, "OrganisationPage"))
@scoped("customers:read")
def list_organisations(args):
    """Organisations, newest first (staff)."""
    return _page(directory.organisations(actor(), args.get("q")), Organisation.id, args)


@bp.route("/organisations/<id:organisation_id>")
@bp.response(200, OrganisationSchema)
@scoped("customers:read")
def read_organisation(organisation_id):
    """One organisation (staff)."""
    return directory.get_organisation(actor(), organisation_id)


@bp.route("/departments")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_schema(DepartmentSchema, "DepartmentPage"))
@scoped("customers:read")
def list_departments(args):
    """The departments agents work in (staff)."""
    return _page(departments.departments_for(actor()), Department.id, args)


@bp.route("/agents")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_schema(AgentSchema, "AgentPage"))
@scoped("customers:read")
def list_agents(args):
    """The active agents and admins with their departments (staff)."""
    return _page(departments.agents_for(actor()), User.id, args)


# --------------------------------------------------------------------------- customer accounts and members

@bp.route("/accounts")
@bp.arguments(SearchPageArgs, location="query")
@bp.response(200, page_schema(AccountSchema, "AccountPage"))
@scoped("customers:read")
def list_accounts(args):
    """Customer accounts: staff every account, a customer those they are a member of."""
    return _page(directory.accounts(actor(), args.get("q")), CustomerAccount.id, args)


@bp.route("/accounts/<id:account_id>")
@bp.response(200, AccountSchema)
@scoped("customers:read")
def read_account(account_id):
    """One customer account (staff, and its members)."""
    return members.get_account(actor(), account_id)


@bp.route("/accounts/<id:account_id>/members")
@bp.response(200, MembersSchema)
@scoped("customers:read")
def list_members(account_id):
    """The account's members, owners first (staff, and members with the members permission)."""
    return {"items": members.list_members(actor(), account_id)}


@bp.route("/accounts/<id:account_id>/members", methods=["POST"])
@idempotent
@bp.arguments(NewMemberSchema)
@bp.response(201, MemberSchema, description="Staff: the customer with this address is now a member.")
@bp.alt_response(202, schema=InvitationSchema,
                 description="A member who manages members: the address is invited by email, as in the portal.")
@bp.doc(responses=IN_USE)
@scoped("customers:write")
def add_member(data, account_id):
    """Add a member. Staff make an existing customer a member at once; a member with the members permission
    invites the address by email (the answer is the same whether or not it has a login)."""
    who = actor()
    if members.is_staff(who):
        return members.add_member(who, account_id, email=data["email"], permissions=data["permissions"],
                                  owner=data["owner"]), 201
    invited = invitations.invite(who, account_id, email=data["email"], permissions=data["permissions"])
    response = jsonify(InvitationSchema().dump(invited))  # not the 201's schema: smorest dumps only that one
    response.status_code = 202
    return response


@bp.route("/accounts/<id:account_id>/members/<id:user_id>", methods=["DELETE"])
@bp.response(204)
@bp.doc(responses={"409": {"description": str(_l("That would leave the account without an owner."))}})
@scoped("customers:write")
def remove_member(account_id, user_id):
    """Take a member out of the account (staff, members who manage members; only owners remove owners; never the
    last owner: 409). A member removing themself leaves the account."""
    who = actor()
    if user_id == who.id and not members.is_staff(who):
        members.leave(who, account_id)
        return "", 204
    target = directory.member_by_login(who, account_id, user_id)
    members.remove_member(who, account_id, target.id)
    return "", 204
