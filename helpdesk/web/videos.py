"""Training videos in the portal: the licences the acting customer account bought, each with its key and the
player link once issued (members with the services permission; another account's licence is not found)."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from helpdesk.devices import videos
from helpdesk.web.account_context import current_account_id
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("videos", __name__, url_prefix="/videos")


@bp.before_request
@login_required
def _customers_only():
    if not current_user.is_customer:
        abort(404)



@bp.route("/")
def licences():
    return render_template("videos/licences.html", licences=videos.licences_of(_actor(), current_account_id()))


@bp.route("/<id:licence_id>")
def licence(licence_id):
    return render_template("videos/licence.html", licence=videos.get_licence(_actor(), current_account_id(),
                                                                              licence_id))
