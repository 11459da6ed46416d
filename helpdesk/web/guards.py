"""Who may reach a blueprint of the staff console, said once for each kind of screen."""
from flask import abort
from flask_login import current_user, login_required


def agents_only(blueprint):
    """Every route of ``blueprint`` is for staff (agents and admins): the login page for visitors, 404 for
    customers (they do not learn the screen exists)."""

    @blueprint.before_request
    @login_required
    def _agents_only():
        if not current_user.is_agent:
            abort(404)

    return blueprint


def admins_only(blueprint):
    """Every route of ``blueprint`` is for admins: the login page for visitors, 404 for customers (they do
    not learn the screen exists), 403 for agents."""

    @blueprint.before_request
    @login_required
    def _admins_only():
        if not current_user.is_agent:
            abort(404)
        if not current_user.is_admin:
            abort(403)

    return blueprint


def current_actor():
    """The logged-in user as the actor the services take."""
    return current_user._get_current_object()
