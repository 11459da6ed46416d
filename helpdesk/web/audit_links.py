"""Where the console shows an object the audit trail names (helpdesk.audit.sentences.Ref), for a viewer who may
open it there; an object without such a page stays plain text."""
from flask import url_for

from helpdesk.errors import NotFound
from helpdesk.kb import access as kb_access
from helpdesk.tickets import access as ticket_access


def _ticket(ref, viewer):
    if not viewer.is_admin:
        try:
            ticket_access.get_ticket(viewer, ref.key)
        except NotFound:
            return None
    return url_for("desk_tickets.show", number=ref.key)


# Pages of the admin screens, by the kind of object.
_ADMIN_PAGES = {
    "user": lambda ref: url_for("desk_admin.edit_agent", user_id=ref.key),
    "department": lambda ref: url_for("desk_admin.edit_department", department_id=ref.key),
    "canned_response": lambda ref: url_for("desk_canned.edit", response_id=ref.key),
    "sla_target": lambda ref: url_for("desk_sla.index"),
    "sla_holiday": lambda ref: url_for("desk_sla.index"),
    "sla_calendar": lambda ref: url_for("desk_sla.calendar", calendar_id=ref.key),
}


# Billing's console pages, by the kind of object: every agent reads billing.
_BILLING_PAGES = {
    "billing-invoice": lambda ref: url_for("desk_billing.invoice", invoice_id=ref.key),
    "billing-order": lambda ref: url_for("desk_billing.order", order_id=ref.key),
    "billing-account": lambda ref: url_for("desk_billing.customer", account_id=ref.key),
    "billing-product": lambda ref: url_for("desk_catalogue.product", product_id=ref.key),
    "billing-product-group": lambda ref: url_for("desk_catalogue.group", group_id=ref.key),
    # Customer accounts (issue 18): any agent opens them in the console, as billing's customers.
    "customer-account": lambda ref: url_for("desk_accounts.account", account_id=ref.key),
}


def linker(viewer):
    """``link(ref)`` → the address of ``ref`` in the console if ``viewer`` may open it, else None."""

    def link(ref):
        if ref.key is None or viewer is None or not viewer.is_agent:
            return None
        if ref.entity == "ticket":
            return _ticket(ref, viewer)
        if ref.entity == "kb-article":
            return url_for("kb_editor.article", article_id=ref.key)
        if ref.entity == "kb-folder":
            return url_for("kb_editor.edit_folder", folder_id=ref.key) if kb_access.is_editor(viewer) else None
        if ref.entity in _BILLING_PAGES:
            return _BILLING_PAGES[ref.entity](ref)
        page = _ADMIN_PAGES.get(ref.entity)
        return page(ref) if page is not None and viewer.is_admin else None

    return link
