"""Webhooks in the staff console (issue 20): the desk-wide endpoints, which hear of every event they subscribed
to. Admins only (agents get 403; customers 404). The pages are webhook_pages'; the service checks the admin again."""
from flask import Blueprint

from helpdesk.web.guards import admins_only
from helpdesk.web.webhook_pages import Scope, add_webhook_pages

bp = admins_only(Blueprint("desk_webhooks", __name__, url_prefix="/agent/admin/webhooks"))

add_webhook_pages(bp, Scope(account_id=lambda: None, templates="desk/webhooks", desk=True))
