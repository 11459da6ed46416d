"""The console's outside-services page for issue 19: the CRM sync (rows per status, failures with their redacted
errors, a retry for admins) and the training videos (the course ids of each video product, licences paid for and
not issued, a retry for billing managers). Views parse, call one devices service and render."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from helpdesk.billing.access import may_manage
from helpdesk.devices import crm_tasks, videos
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.forms import PostForm
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor

bp = agents_only(Blueprint("desk_crm", __name__, url_prefix="/agent/crm"))


class CoursesForm(FlaskForm):
    course_ids = StringField(_l("Course ids (separated by commas)"), validators=[Length(max=500)])




def _page(status=200, course_forms=None):
    actor = _actor()
    products = videos.video_products(actor)
    forms = course_forms or {}
    for product, _name, courses in products:
        forms.setdefault(product.id, CoursesForm(prefix=f"p{product.id}", data={"course_ids": ", ".join(courses)}))
    return render_template("desk/crm/index.html", overview=crm_tasks.overview(actor), products=products,
                           course_forms=forms, licences=videos.unissued_licences(actor), post_form=PostForm(),
                           may_manage=may_manage(actor)), status


@bp.route("/")
def index():
    return _page()


@bp.route("/<id:entry_id>/retry", methods=["POST"])
def retry(entry_id):
    if not PostForm().validate_on_submit():
        abort(400)
    crm_tasks.retry(_actor(), entry_id)
    flash(_("The CRM update is being sent again."), "success")
    return redirect(url_for("desk_crm.index"))


@bp.route("/licences/<id:licence_id>/retry", methods=["POST"])
def retry_licence(licence_id):
    if not PostForm().validate_on_submit():
        abort(400)
    videos.retry_licence(_actor(), licence_id)
    flash(_("The video provider is being asked for the licence again."), "success")
    return redirect(url_for("desk_crm.index"))


@bp.route("/videos/<id:product_id>/courses", methods=["POST"])
def courses(product_id):
    form = CoursesForm(prefix=f"p{product_id}")
    if not form.validate_on_submit():
        abort(400)
    try:
        videos.set_courses(_actor(), product_id, (form.course_ids.data or "").split(","))
    except ValidationFailed as exc:
        form.course_ids.errors = list(form.course_ids.errors) + [str(m) for m in exc.errors.values()]
        return _page(400, {product_id: form})
    flash(_("The video courses were saved."), "success")
    return redirect(url_for("desk_crm.index"))
