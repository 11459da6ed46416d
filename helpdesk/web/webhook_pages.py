"""The webhook pages shared by the console (desk-wide endpoints) and the portal (the acting customer account's):
the list, adding, the secret shown once, editing, enabling and disabling, deleting, a test event, and the delivery
log with redelivery. Each blueprint says who may reach it and which endpoints are its own (``Scope``); each view
parses its form and calls one service function in helpdesk.webhooks.service, which checks the actor again.

A secret is only ever in the answer to the POST that made it (adding an endpoint, rotating its secret): never in a
redirect, a flash message or a page that can be asked for again, and that answer is not stored by any cache. Each
adding form carries a key that the browser's session spends when the form is sent: reloading the page that shows
a new endpoint's secret sends the form again, and that must not add a second endpoint."""
from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from helpdesk.db import parse_id
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.web import form_keys
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor
from helpdesk.web.webhook_forms import DeskEndpointForm, EndpointForm
from helpdesk.webhooks import service as webhooks
from helpdesk.webhooks.models import TEST_KIND

DELIVERIES_PER_PAGE = 50
FORM_KEYS = "webhook_form_keys"  # session: the keys of the adding forms given out and not sent yet


@dataclass(frozen=True)
class Scope:
    """Whose endpoints a blueprint shows: ``account_id()`` is the customer account (None: the desk-wide ones),
    ``templates`` the folder of its pages, ``desk`` whether its people are admins (they may allow private
    addresses)."""

    account_id: Callable[[], int | None]
    templates: str
    desk: bool
    # How often test events and redeliveries may be asked for (Flask-Limiter syntax), or None: each sends a
    # request to a URL the endpoint's owner chose, so a customer cannot make the helpdesk hammer a host.
    send_limit: Callable[[], str] | None = None


def flash_errors(exc: ValidationFailed):
    for message in exc.errors.values():
        flash(message, "error")


def add_webhook_pages(bp, scope: Scope):
    """Register the webhook pages on ``bp`` (whose guard has already said who may reach it)."""

    def page(name, status=200, **context):
        return render_template(f"{scope.templates}/{name}.html", labels=webhooks.EVENT_LABELS, test_kind=TEST_KIND,
                               **context), status

    def endpoint_of(endpoint_id):
        # The service knows who may see the endpoint; the page shows only this blueprint's own (an owner of two
        # accounts sees the acting one's; admins the desk-wide ones here).
        endpoint = webhooks.get_endpoint(_actor(), endpoint_id)
        if endpoint.account_id != scope.account_id():
            abort(404)
        return endpoint

    def new_form(**kwargs):
        return DeskEndpointForm(**kwargs) if scope.desk else EndpointForm(**kwargs)

    def fields(form):
        values = {"url": form.url.data or "", "description": form.description.data or "",
                  "events": list(form.events.data or ())}
        if scope.desk:
            values["allow_private"] = bool(form.allow_private.data)
        return values

    def check_post():
        if not PostForm().validate_on_submit():
            abort(400)

    def secret_page(endpoint, secret, created):
        body, status = page("secret", endpoint=endpoint, secret=secret, created=created)
        response = make_response(body, status)
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @bp.route("/")
    def index():
        actor = _actor()
        endpoints = webhooks.endpoints_for(actor, account_id=scope.account_id())
        latest = {e.id: next(iter(webhooks.deliveries(actor, e.id, limit=1)), None) for e in endpoints}
        return page("index", endpoints=endpoints, latest=latest, button_form=PostForm())

    @bp.route("/new", methods=["GET", "POST"])
    def new():
        form = new_form()
        if not form.is_submitted():
            form_keys.give(form, FORM_KEYS)
            return page("form", form=form, endpoint=None)
        if form.validate():
            if not form_keys.spend(form, FORM_KEYS):
                flash(_("This form was sent already, and the endpoint it added was shown then with its secret. A "
                        "secret is shown only once: if you did not copy it, rotate it on the endpoint's page."),
                      "warning")
                return redirect(url_for(".index"))
            try:
                endpoint, secret = webhooks.create_endpoint(_actor(), account_id=scope.account_id(), **fields(form))
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            else:
                return secret_page(endpoint, secret, created=True)
        form_keys.give(form, FORM_KEYS)
        return page("form", 400, form=form, endpoint=None)

    @bp.route("/<id:endpoint_id>", methods=["GET", "POST"])
    def edit(endpoint_id):
        endpoint = endpoint_of(endpoint_id)
        if request.method != "POST":
            form = new_form(obj=endpoint)
            return page("form", form=form, endpoint=endpoint, button_form=PostForm())
        form = new_form()
        if form.validate():
            try:
                webhooks.update_endpoint(_actor(), endpoint.id, **fields(form))
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            else:
                flash(_("The webhook endpoint %(url)s was saved.", url=endpoint.url), "success")
                return redirect(url_for(".index"))
        return page("form", 400, form=form, endpoint=endpoint, button_form=PostForm())

    def switch(endpoint_id, enabled, done):
        endpoint = endpoint_of(endpoint_id)
        check_post()
        webhooks.update_endpoint(_actor(), endpoint.id, enabled=enabled)
        flash(done(endpoint.url), "success")
        return redirect(url_for(".index"))

    @bp.route("/<id:endpoint_id>/enable", methods=["POST"])
    def enable(endpoint_id):
        return switch(endpoint_id, True, lambda url: _("The webhook endpoint %(url)s is enabled again.", url=url))

    @bp.route("/<id:endpoint_id>/disable", methods=["POST"])
    def disable(endpoint_id):
        return switch(endpoint_id, False,
                      lambda url: _("The webhook endpoint %(url)s is disabled: it hears of no events.", url=url))

    @bp.route("/<id:endpoint_id>/delete", methods=["GET", "POST"])
    def delete(endpoint_id):
        endpoint = endpoint_of(endpoint_id)
        if request.method == "GET":
            return page("delete", endpoint=endpoint, button_form=PostForm())
        check_post()
        url = endpoint.url
        webhooks.delete_endpoint(_actor(), endpoint.id)
        flash(_("The webhook endpoint %(url)s was deleted.", url=url), "success")
        return redirect(url_for(".index"))

    @bp.route("/<id:endpoint_id>/rotate-secret", methods=["POST"])
    def rotate_secret(endpoint_id):
        endpoint = endpoint_of(endpoint_id)
        check_post()
        secret = webhooks.rotate_secret(_actor(), endpoint.id)
        return secret_page(endpoint, secret, created=False)

    def limited(view):
        if not scope.send_limit:
            return view
        # Flask-Limiter knows a view by its module and name: these are the blueprint's own, not the console's.
        view.__module__ = bp.import_name
        return limiter.limit(scope.send_limit)(view)

    @bp.route("/<id:endpoint_id>/test", methods=["POST"])
    @limited
    def send_test(endpoint_id):
        endpoint = endpoint_of(endpoint_id)
        check_post()
        try:
            webhooks.send_test(_actor(), endpoint.id)
        except ValidationFailed as exc:
            flash_errors(exc)
        else:
            flash(_("A test event is on its way to %(url)s.", url=endpoint.url), "success")
        return redirect(url_for(".deliveries", endpoint_id=endpoint.id))

    @bp.route("/<id:endpoint_id>/deliveries")
    def deliveries(endpoint_id):
        endpoint = endpoint_of(endpoint_id)
        before = None
        if request.args.get("before"):
            before = parse_id(request.args["before"])
            if before is None:
                abort(400)  # not a link of ours
        rows = webhooks.deliveries(_actor(), endpoint.id, before_id=before, limit=DELIVERIES_PER_PAGE)
        older = rows[-1].id if len(rows) == DELIVERIES_PER_PAGE else None
        return page("deliveries", endpoint=endpoint, deliveries=rows, older=older, first_page=before is None,
                    button_form=PostForm())

    @bp.route("/<id:endpoint_id>/deliveries/<id:delivery_id>/redeliver", methods=["POST"])
    @limited
    def redeliver(endpoint_id, delivery_id):
        endpoint = endpoint_of(endpoint_id)
        delivery = webhooks.get_delivery(_actor(), delivery_id)
        if delivery.endpoint_id != endpoint.id:
            abort(404)
        check_post()
        try:
            webhooks.redeliver(_actor(), delivery.id)
        except ValidationFailed as exc:
            flash_errors(exc)
        else:
            flash(_("The event will be delivered again to %(url)s.", url=endpoint.url), "success")
        return redirect(url_for(".deliveries", endpoint_id=endpoint.id))

    return bp
