"""The portal's knowledge base: folders, articles, all articles, search (also as JSON for the ticket form's
suggestions), "was this helpful?" with its feedback form, and uploaded videos. Guests, customers and
agents read here what the portal shows; internal articles and drafts live in the console (kb_editor)."""
import secrets

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from helpdesk import storage
from helpdesk.devices import registry
from helpdesk.devices.catalogue import device_types
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.kb import access, service
from helpdesk.search import articles as kb_index
from helpdesk.web.account_context import current_account_id
from helpdesk.web.downloads import content_disposition
from helpdesk.web.forms import PostForm
from helpdesk.web.kb_forms import FeedbackForm

bp = Blueprint("kb", __name__, url_prefix="/kb")

READER_COOKIE = "helpdesk_kb_reader"
SUGGEST_LIMIT = 5
SEARCH_LIMIT = 10


def _reader():
    """The logged-in user, or None for a guest."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def _language():
    return str(get_locale())


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="kb-reader")


def _anonymous_id():
    """The guest browser's random reader id from its signed cookie (None if it has none yet)."""
    value = request.cookies.get(READER_COOKIE)
    if not value:
        return None
    try:
        return _serializer().loads(value)
    except BadSignature:
        return None


def _reader_key(create=False):
    """Who votes: the user, or this browser; a new browser gets its random id when ``create``."""
    actor = _reader()
    if actor is not None:
        return service.reader_key(actor), None
    anonymous = _anonymous_id()
    if anonymous is None:
        if not create:
            return None, None
        anonymous = secrets.token_urlsafe(18)
        return service.reader_key(None, anonymous), anonymous
    return service.reader_key(None, anonymous), None


def _remember_reader(response, anonymous):
    if anonymous:
        response.set_cookie(READER_COOKIE, _serializer().dumps(anonymous), httponly=True, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
                            max_age=current_app.config["KB_READER_COOKIE_DAYS"] * 86400)
    return response


def text_of(article):
    """The reader's translation of ``article`` (falling back to the default language)."""
    return article.translation(_language(), service.default_language())


bp.add_app_template_global(text_of, "kb_text")


def folder_title(folder):
    """A folder's title in the reader's language (the default language's when it has none)."""
    return folder.title_in(_language())


def folder_description(folder):
    return folder.description_in(_language())


bp.add_app_template_global(folder_title, "kb_title")
bp.add_app_template_global(folder_description, "kb_description")


def _own_device_type_codes() -> list[str]:
    """The device types of the devices the reader's acting account owns (a customer with the services right)."""
    actor = _reader()
    if actor is None or not actor.is_customer:
        return []
    try:
        devices = registry.devices_of(actor, current_account_id())
    except (NotFound, NotAllowed):
        return []
    return list(dict.fromkeys(device.device_type.code for device in devices if device.device_type))


def device_type_choices() -> dict:
    """The search box's device-type select (issue 19): the reader's own devices' types first, then the others;
    ``selected`` is the type the page is filtered by."""
    kinds = {kind.code: kind.label for kind in device_types(active_only=False)}
    own = [code for code in _own_device_type_codes() if code in kinds]
    return {"own": [(code, kinds[code]) for code in own],
            "others": [(code, label) for code, label in kinds.items() if code not in own],
            "selected": _device_filter(kinds)}


def _device_filter(kinds=None) -> str:
    """The device type code asked for in ?device= ("" for none, or for a code that is no device type)."""
    code = request.args.get("device", "").strip()[:60]
    if not code:
        return ""
    kinds = kinds if kinds is not None else {kind.code for kind in device_types(active_only=False)}
    return code if code in kinds else ""


def device_type_label(code: str) -> str:
    """A device type's brand and model for an article's product field (the code itself for an older value)."""
    kind = next((kind for kind in device_types(active_only=False) if kind.code == code), None)
    return kind.label if kind else code


bp.add_app_template_global(device_type_choices, "kb_device_choices")
bp.add_app_template_global(device_type_label, "kb_device_label")


def _breadcrumbs(folder):
    trail = []
    while folder is not None:
        trail.insert(0, folder)
        folder = folder.parent
    return trail


@bp.route("/")
def index():
    actor = _reader()
    tree = access.folder_tree(actor)
    ids = [f.id for f, children in tree] + [c.id for _f, children in tree for c in children]
    device = _device_filter()
    if device:  # one device type's articles, newest first
        return render_template("kb/index.html", tree=tree, articles={}, device=device,
                               device_articles=access.articles_about(actor, device))
    return render_template("kb/index.html", tree=tree, articles=access.articles_in(actor, ids), device="")


@bp.route("/all")
def all_articles():
    actor = _reader()
    tree = access.folder_tree(actor)
    ids = [f.id for f, children in tree] + [c.id for _f, children in tree for c in children]
    grouped = access.articles_in(actor, ids)
    articles = sorted((a for group in grouped.values() for a in group), key=lambda a: text_of(a).title.lower())
    return render_template("kb/all.html", articles=articles)


@bp.route("/folders/<id:folder_id>")
def folder(folder_id):
    actor = _reader()
    current = access.get_folder(actor, folder_id)
    children = [child for parent, kids in access.folder_tree(actor) if parent.id == current.id for child in kids]
    articles = access.articles_in(actor, [current.id, *[c.id for c in children]])
    return render_template("kb/folder.html", folder=current, children=children, articles=articles,
                           breadcrumbs=_breadcrumbs(current.parent))


@bp.route("/articles/<id:article_id>")
def article(article_id):
    actor = _reader()
    item = access.get_article(actor, article_id)
    reader, _new = _reader_key()
    vote = service.vote_of(reader, item) if reader else None
    response = Response(render_template(
        "kb/article.html", article=item, text=text_of(item), body=service.safe_html(text_of(item)),
        breadcrumbs=_breadcrumbs(item.folder), related=service.related_articles(actor, item), vote=vote,
        vote_form=PostForm(), feedback_form=FeedbackForm(), feedback_open=request.args.get("feedback") == "1",
    ))
    if item.video_url:
        # Only this page may frame a player, and only from the allowed hosts.
        hosts = " ".join(f"https://{host}" for host in current_app.config["KB_VIDEO_HOSTS"])
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"frame-src {hosts}; media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    return response


def _feedback_rate_limit():
    return current_app.config["KB_FEEDBACK_RATE_LIMIT"]


# Votes and feedback count together, per client address, whichever article they are about.
_feedback_limit = limiter.shared_limit(_feedback_rate_limit, scope="kb-feedback", methods=["POST"])


@bp.route("/articles/<id:article_id>/vote", methods=["POST"])
@_feedback_limit
def vote(article_id):
    item = access.get_article(_reader(), article_id)
    form = PostForm()
    if not form.validate_on_submit() or request.form.get("helpful") not in ("yes", "no"):
        abort(400)
    reader, anonymous = _reader_key(create=True)
    helpful = request.form["helpful"] == "yes"
    service.vote(_reader(), item, reader=reader, helpful=helpful)
    target = url_for("kb.article", article_id=item.id, **({} if helpful else {"feedback": 1})) + "#helpful"
    return _remember_reader(redirect(target), anonymous)


@bp.route("/articles/<id:article_id>/feedback", methods=["POST"])
@_feedback_limit
def feedback(article_id):
    actor = _reader()
    item = access.get_article(actor, article_id)
    form = FeedbackForm()
    reader, anonymous = _reader_key(create=True)
    if form.validate_on_submit():
        try:
            service.send_feedback(actor, item, reader=reader, comment=form.comment.data, email=form.email.data)
        except ValidationFailed as exc:
            for name, message in exc.errors.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
        else:
            return _remember_reader(redirect(url_for("kb.article", article_id=item.id) + "#helpful"), anonymous)
    text = text_of(item)
    response = Response(render_template(
        "kb/article.html", article=item, text=text, body=service.safe_html(text),
        breadcrumbs=_breadcrumbs(item.folder), related=service.related_articles(actor, item),
        vote=service.vote_of(reader, item), vote_form=PostForm(), feedback_form=form, feedback_open=True,
    ), status=400)
    return _remember_reader(response, anonymous)


@bp.route("/articles/<id:article_id>/video")
def video(article_id):
    item = access.get_article(_reader(), article_id)
    return video_response(item)


def video_response(item):
    """An uploaded video with its own type, never sniffed, named for a download."""
    if not item.video_key or item.video_content_type not in current_app.config["KB_VIDEO_TYPES"]:
        abort(404)
    try:
        video = storage.open(item.video_key)
    except (OSError, ValueError):
        abort(404)
    response = Response(video, mimetype=item.video_content_type)
    response.content_length = video.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = content_disposition(item.video_filename, inline=True)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _search(text, limit=SEARCH_LIMIT, typing=False):
    return kb_index.search_articles(_reader(), text, language=_language(), fallback=service.default_language(),
                                    limit=limit, typing=typing)


@bp.route("/search")
def search():
    text, device = request.args.get("q", "").strip()[:200], _device_filter()
    if not text and device:
        return redirect(url_for("kb.index", device=device))
    hits = _search(text) if text else []
    if device:
        hits = [hit for hit in hits if hit.article.product == device]
    return render_template("kb/search.html", q=text, hits=hits, device=device)


@bp.route("/suggest")
def suggest():
    """Articles for the subject a customer is typing on the new-ticket form (JSON)."""
    text = request.args.get("q", "").strip()[:200]
    hits = _search(text, limit=SUGGEST_LIMIT, typing=True) if len(text) >= 3 else []
    return jsonify({"articles": [
        {"title": hit.title, "url": url_for("kb.article", article_id=hit.article.id),
         "snippet": str(hit.highlights.get("body", ""))} for hit in hits
    ]})
