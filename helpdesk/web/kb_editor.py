"""The knowledge base in the staff console: every folder and article (internal ones too) for agents;
for editors also drafts, the folder and article forms, publishing, ordering, revisions, and readers'
feedback with its "turn into a ticket" button."""
import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from helpdesk.db import parse_id
from helpdesk.devices.catalogue import device_types
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.kb import access, service
from helpdesk.kb.models import KBFolder, KBRevision
from helpdesk.search import articles as kb_index
from helpdesk.tickets.service import NewAttachment
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor
from helpdesk.web.kb import folder_title, video_response
from helpdesk.web.kb_forms import ArticleForm, FolderForm, folder_translations

bp = Blueprint("kb_editor", __name__, url_prefix="/agent/kb")


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


VIDEO_FORMS = ("kb_editor.new_article", "kb_editor.edit_article")


@bp.url_value_preprocessor  # runs before any before_request (the CSRF check reads the form)
def _room_for_a_video(endpoint, _values):
    """An article's form may carry a video (KB_VIDEO_MAX_BYTES): more than other requests (MAX_CONTENT_LENGTH), for
    agents only (anyone else is refused before the body is read)."""
    if endpoint in VIDEO_FORMS and current_user.is_authenticated and current_user.is_agent:
        config = current_app.config
        request.max_content_length = max(config["MAX_CONTENT_LENGTH"] or 0, config["KB_VIDEO_MAX_BYTES"] + 2**20)



def _editors_only():
    if not access.is_editor(_actor()):
        abort(403)



def _folder_choices(top_level_only=False, empty=None):
    folders = db.session.scalars(sa.select(KBFolder).order_by(KBFolder.position, KBFolder.id)
                                 .options(selectinload(KBFolder.translations))).all()
    by_parent = {}
    for folder in folders:
        by_parent.setdefault(folder.parent_id, []).append(folder)
    choices = [("", empty)] if empty else []
    for folder in by_parent.get(None, []):
        title = folder_title(folder)
        choices.append((str(folder.id), title))
        if not top_level_only:
            choices += [(str(c.id), f"{title} › {folder_title(c)}") for c in by_parent.get(folder.id, [])]
    return choices


def _device_type_choices(current=""):
    """The product select: none, then the catalogue's device types (by code); an older free-text product an
    article still has stays offered, so saving the article keeps it."""
    choices = [("", _("— none —"))] + [(kind.code, f"{kind.label} ({kind.code})") for kind in device_types()]
    if current and current not in {code for code, _label in choices}:
        choices.append((current, current))
    return choices


def _folder_from(value):
    return db.session.get(KBFolder, parse_id(value)) if parse_id(value) is not None else None


def _upload(field):
    data = field.data
    if not data or not getattr(data, "filename", ""):
        return None
    # A video may be large: handed over as the upload's own (spooled) file, read in pieces when stored.
    return NewAttachment(filename=data.filename, content_type=data.mimetype or "", data=b"", stream=data.stream)


# --------------------------------------------------------------------------- reading

@bp.route("/")
def index():
    actor = _actor()
    tree = access.folder_tree(actor, console=True)
    ids = [f.id for f, children in tree] + [c.id for _f, children in tree for c in children]
    return render_template("desk/kb/index.html", tree=tree, articles=access.articles_in(actor, ids, console=True),
                           is_editor=access.is_editor(actor), form=PostForm())


@bp.route("/search")
def search():
    text = request.args.get("q", "").strip()[:200]
    hits = kb_index.search_articles(_actor(), text, language=str(get_locale()), fallback=service.default_language(),
                                    console=True) if text else []
    return render_template("kb/search.html", q=text, hits=hits, article_endpoint="kb_editor.article",
                           console=True)


@bp.route("/articles/<id:article_id>")
def article(article_id):
    actor = _actor()
    item = access.get_article(actor, article_id, console=True)
    language = request.args.get("lang") or service.default_language()
    text = item.translation(language, service.default_language())
    return render_template("desk/kb/article.html", article=item, text=text, body=service.safe_html(text),
                           is_editor=access.is_editor(actor), form=PostForm(), languages=LANGUAGES)


@bp.route("/articles/<id:article_id>/video")
def video(article_id):
    return video_response(access.get_article(_actor(), article_id, console=True))


# --------------------------------------------------------------------------- editing articles

@bp.route("/articles/new", methods=["GET", "POST"])
def new_article():
    _editors_only()
    form = ArticleForm()
    form.folder.choices = _folder_choices()
    form.product.choices = _device_type_choices()
    if request.method == "GET":
        form.language.data = service.default_language()
        form.folder.data = request.args.get("folder", "")
    if form.validate_on_submit():
        try:
            created = service.create_article(
                _actor(), folder=_folder_from(form.folder.data), language=form.language.data,
                title=form.title.data, body=form.body.data, body_format=form.body_format.data,
                tags=form.tags.data, product=form.product.data, video_url=form.video_url.data,
                video=_upload(form.video), publish=form.publish.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The article was saved."), "success")
            return redirect(url_for("kb_editor.article", article_id=created.id))
    return render_template("desk/kb/article_form.html", form=form, article=None), 400 if form.errors else 200


@bp.route("/articles/<id:article_id>/edit", methods=["GET", "POST"])
def edit_article(article_id):
    _editors_only()
    item = access.get_article(_actor(), article_id, console=True)
    form = ArticleForm()
    form.folder.choices = _folder_choices()
    form.product.choices = _device_type_choices(item.product)
    language = request.values.get("language") or request.args.get("lang") or service.default_language()
    if request.method == "GET":
        text = next((t for t in item.translations if t.language == language), None)
        form.language.data = language
        form.title.data, form.body.data = (text.title, text.body) if text else ("", "")
        form.body_format.data = text.body_format if text else "markdown"
        form.folder.data, form.tags.data = str(item.folder_id), ", ".join(item.tag_list)
        form.product.data, form.video_url.data = item.product, item.video_url or ""
    if form.validate_on_submit():
        try:
            service.update_article(
                _actor(), item, language=form.language.data, title=form.title.data, body=form.body.data,
                body_format=form.body_format.data, folder=_folder_from(form.folder.data), tags=form.tags.data,
                product=form.product.data, video_url=form.video_url.data, video=_upload(form.video),
                remove_video=form.remove_video.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The article was saved."), "success")
            return redirect(url_for("kb_editor.article", article_id=item.id, lang=form.language.data))
    return (render_template("desk/kb/article_form.html", form=form, article=item, languages=LANGUAGES),
            400 if form.errors else 200)


def _post_action(article_id, action):
    _editors_only()
    item = access.get_article(_actor(), article_id, console=True)
    if not PostForm().validate_on_submit():
        abort(400)
    action(item)
    return item


@bp.route("/articles/<id:article_id>/publish", methods=["POST"])
def publish(article_id):
    item = _post_action(article_id, lambda a: service.publish(_actor(), a))
    flash(_("The article is published."), "success")
    return redirect(url_for("kb_editor.article", article_id=item.id))


@bp.route("/articles/<id:article_id>/unpublish", methods=["POST"])
def unpublish(article_id):
    item = _post_action(article_id, lambda a: service.unpublish(_actor(), a))
    flash(_("The article is a draft again."), "success")
    return redirect(url_for("kb_editor.article", article_id=item.id))


@bp.route("/articles/<id:article_id>/move", methods=["POST"])
def move_article(article_id):
    _post_action(article_id, lambda a: service.move_article(_actor(), a, request.form.get("direction")))
    return redirect(url_for("kb_editor.index"))


@bp.route("/articles/<id:article_id>/revisions/<id:number>")
def revision(article_id, number):
    _editors_only()
    item = access.get_article(_actor(), article_id, console=True)
    found = db.session.scalar(sa.select(KBRevision).where(KBRevision.article_id == item.id,
                                                          KBRevision.number == number))
    if found is None:
        abort(404)
    language = request.args.get("lang") or service.default_language()
    title, html = service.revision_text(found, language)
    return render_template("desk/kb/revision.html", article=item, revision=found, title=title, body=html,
                           form=PostForm())


@bp.route("/articles/<id:article_id>/revisions/<id:number>/restore", methods=["POST"])
def restore(article_id, number):
    item = _post_action(article_id, lambda a: service.restore_revision(_actor(), a, number))
    flash(_("Revision %(number)s was restored.", number=number), "success")
    return redirect(url_for("kb_editor.article", article_id=item.id))


# --------------------------------------------------------------------------- folders

def _other_languages():
    """The languages a folder's title is translated into: all but the desk's default."""
    return [code for code in LANGUAGES if code != service.default_language()]


def _folder_form_page(form, folder):
    form.parent.choices = _folder_choices(top_level_only=True, empty=_("None (top level)"))
    if folder is not None:
        form.parent.choices = [c for c in form.parent.choices if c[0] != str(folder.id)]
    return render_template("desk/kb/folder_form.html", form=form, folder=folder,
                           translation_languages=_other_languages(),
                           default_language=LANGUAGES.get(service.default_language(), service.default_language()))


@bp.route("/folders/new", methods=["GET", "POST"])
def new_folder():
    _editors_only()
    form = FolderForm()
    if form.validate_on_submit():
        try:
            service.create_folder(_actor(), title=form.title.data, description=form.description.data,
                                  parent=_folder_from(form.parent.data), visibility=form.visibility.data,
                                  kind=form.kind.data, translations=folder_translations(form, _other_languages()))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The folder was saved."), "success")
            return redirect(url_for("kb_editor.index"))
    return _folder_form_page(form, None), 400 if form.errors else 200


@bp.route("/folders/<id:folder_id>/edit", methods=["GET", "POST"])
def edit_folder(folder_id):
    _editors_only()
    folder = access.get_folder(_actor(), folder_id, console=True)
    form = FolderForm(obj=None)
    if request.method == "GET":
        form.title.data, form.description.data = folder.title, folder.description
        for text in folder.translations:
            if f"title_{text.language}" in form:
                form[f"title_{text.language}"].data = text.title
                form[f"description_{text.language}"].data = text.description
        form.parent.data = str(folder.parent_id or "")
        form.visibility.data, form.kind.data = folder.visibility, folder.kind
    if form.validate_on_submit():
        try:
            service.update_folder(_actor(), folder, title=form.title.data, description=form.description.data,
                                  parent=_folder_from(form.parent.data), visibility=form.visibility.data,
                                  kind=form.kind.data, translations=folder_translations(form, _other_languages()))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The folder was saved."), "success")
            return redirect(url_for("kb_editor.index"))
    return _folder_form_page(form, folder), 400 if form.errors else 200


@bp.route("/folders/<id:folder_id>/move", methods=["POST"])
def move_folder(folder_id):
    _editors_only()
    folder = access.get_folder(_actor(), folder_id, console=True)
    if not PostForm().validate_on_submit():
        abort(400)
    service.move_folder(_actor(), folder, request.form.get("direction"))
    return redirect(url_for("kb_editor.index"))


# --------------------------------------------------------------------------- readers' feedback

@bp.route("/feedback")
def feedback():
    _editors_only()
    return render_template("desk/kb/feedback.html", rows=service.feedback_summary(_actor()))


@bp.route("/feedback/<id:article_id>")
def article_feedback(article_id):
    _editors_only()
    item = access.get_article(_actor(), article_id, console=True)
    return render_template("desk/kb/article_feedback.html", article=item,
                           comments=service.feedback_comments(_actor(), item), form=PostForm())


@bp.route("/feedback/votes/<id:vote_id>/ticket", methods=["POST"])
def feedback_ticket(vote_id):
    _editors_only()
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        ticket = service.feedback_to_ticket(_actor(), vote_id)
    except (ValidationFailed, Conflict) as exc:
        for message in getattr(exc, "errors", {"": exc.message}).values():
            flash(message, "error")
        return redirect(request.referrer or url_for("kb_editor.feedback"))
    flash(_("Ticket #%(number)s was opened.", number=ticket.number), "success")
    return redirect(url_for("desk_tickets.show", number=ticket.number))
