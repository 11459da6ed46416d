"""Account mail (activation, password reset, "you already have an account", failed logins, confirming a
notification address, welcome), rendered in the
recipient's language and queued through the outbox. The links point at the web door's pages under BASE_URL."""
from email.utils import formataddr

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk.i18n import LANGUAGES
from helpdesk.notify.service import queue_email

ACTIVATE_PATH = "/activate/"
RESET_PATH = "/reset-password/"
CONTACT_CONFIRM_PATH = "/profile/notification-addresses/{id}/confirm/{token}"
FORGOT_PATH = "/forgot-password"


def _link(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def _send(user, template: str, subject, to=None, **context):
    """Mail ``user`` (or ``to``, an (address, name) pair writing to them elsewhere) in their language."""
    config = current_app.config
    email, name = to or (user.email, user.full_name)
    locale = user.locale if user.locale in LANGUAGES else config["DEFAULT_LOCALE"]
    with force_locale(locale):
        context.update(recipient_name=name, brand=config["BRAND_NAME"])
        text = render_template(f"accounts/mail/{template}.txt", **context)
        html = render_template(f"accounts/mail/{template}.html", **context)
        subject_line = subject()
    queue_email(sender=formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"])), recipient=email,
                recipient_name=name, subject=subject_line, body_text=text, body_html=html,
                headers={"Auto-Submitted": "auto-generated"})


def send_activation(user, token: str, hours: int):
    _send(user, "activation", lambda: _("Activate your %(brand)s account", brand=current_app.config["BRAND_NAME"]),
          link=_link(ACTIVATE_PATH + token), hours=hours)


def send_already_registered(user, token: str, minutes: int):
    _send(user, "already_registered",
          lambda: _("You already have a %(brand)s account", brand=current_app.config["BRAND_NAME"]),
          link=_link(RESET_PATH + token), minutes=minutes, login_name=user.email)


def send_password_reset(user, token: str, minutes: int):
    _send(user, "password_reset", lambda: _("Reset your %(brand)s password", brand=current_app.config["BRAND_NAME"]),
          link=_link(RESET_PATH + token), minutes=minutes, forgot_link=_link(FORGOT_PATH))


def send_staff_invitation(user, token: str, hours: int):
    _send(user, "staff_invitation",
          lambda: _("Your %(brand)s staff account", brand=current_app.config["BRAND_NAME"]),
          link=_link(ACTIVATE_PATH + token), hours=hours, login_name=user.email)


def send_login_throttled(user, ip: str):
    _send(user, "login_throttled",
          lambda: _("Failed logins to your %(brand)s account", brand=current_app.config["BRAND_NAME"]),
          ip=ip, forgot_link=_link(FORGOT_PATH))


def send_contact_confirmation(user, address, token: str, hours: int, purpose):
    """To a notification address ``user`` named: confirm that it may receive their ``purpose`` mail."""
    _send(user, "contact_confirmation",
          lambda: _("Confirm your address for %(brand)s", brand=current_app.config["BRAND_NAME"]),
          to=(address.email, address.name), link=_link(CONTACT_CONFIRM_PATH.format(id=address.id, token=token)),
          hours=hours, account_name=user.display_name, account_email=user.email,
          purpose=purpose, address=address.email)


def send_welcome(user, *, set_password_token: str | None = None, hours: int | None = None):
    """Welcome a new customer with the portal's address; with a link to choose their password when staff made
    the account (staff never choose nor learn it)."""
    _send(user, "welcome", lambda: _("Welcome to %(brand)s", brand=current_app.config["BRAND_NAME"]),
          portal_link=_link("/"), login_name=user.username or user.email,
          link=_link(ACTIVATE_PATH + set_password_token) if set_password_token else None, hours=hours)
