"""The mail that tells the customer who filed a domain request how it was decided (done, or rejected with the
reason), queued in the deciding transaction and written in their language when the mail goes out."""
from email.utils import formataddr

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk.domains.models import REQUEST_DONE, DomainRequest
from helpdesk.extensions import db
from helpdesk.notify.service import queue_email


def tell_decision(request: DomainRequest) -> None:
    """Queue the decision's mail to the login that filed ``request`` (none when that login is gone). Never
    commits."""
    person = request.requested_by
    if person is None or not person.email:
        return
    config = current_app.config
    queue_email(sender=formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"])), recipient=person.email,
                recipient_name=person.display_name, headers={"Auto-Submitted": "auto-generated"},
                render_with=render_decision, render_args={"request": request.id, "locale": person.locale})


def render_decision(row):
    """Write the mail queued by ``tell_decision`` (called by the delivery job)."""
    request = db.session.get(DomainRequest, row.render_args["request"])
    config = current_app.config
    url = f"{config['BASE_URL'].rstrip('/')}/domains/requests/{request.id}"
    with force_locale(row.render_args.get("locale") or config["DEFAULT_LOCALE"]):
        if request.status == REQUEST_DONE:
            row.subject = _("Your domain %(name)s is done", name=request.display_name)
            body = _("Hello %(name)s,\n\nyour domain request for %(domain)s is done.\n\nDetails: %(url)s\n",
                     name=row.recipient_name, domain=request.display_name, url=url)
        else:
            row.subject = _("Your domain request for %(name)s was rejected", name=request.display_name)
            body = _("Hello %(name)s,\n\nwe could not carry out your domain request for %(domain)s:\n\n%(reason)s"
                     "\n\nYou may file it again with other details: %(url)s\n", name=row.recipient_name,
                     domain=request.display_name, reason=request.reason, url=url)
        row.body_text = body + f"\n-- \n{config['BRAND_NAME']}\n"
        row.body_html = None
