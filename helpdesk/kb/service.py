"""Every change to the knowledge base, one function each: folders, articles (with a revision per edit),
publishing, ordering, readers' "was this helpful?" votes and feedback, and feedback turned into a ticket.
Each validates all its input, checks the actor's right, writes an audit row and commits once; the
search index follows through a job after the commit."""
import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import current_app
from markdown_it import MarkdownIt
from sqlalchemy.orm import selectinload

from helpdesk import audit, storage
from helpdesk.accounts import service as accounts
from helpdesk.db import Batch, commit_service_call, utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.jobs import Followers
from helpdesk.kb import access
from helpdesk.kb.models import (
    BODY_FORMATS,
    DRAFT,
    FOLDER_KINDS,
    MARKDOWN,
    NEWS,
    PUBLISHED,
    STANDARD,
    VISIBILITIES,
    KBArticle,
    KBFolder,
    KBFolderTranslation,
    KBRevision,
    KBTranslation,
    KBVote,
)
from helpdesk.sanitize import clean_html, html_to_text, strip_control
from helpdesk.tickets import service as tickets
from helpdesk.uploads import clean_filename

TITLE_MAX = 255
FOLDER_TITLE_MAX = 200
TAGS_MAX = 500
COMMENT_MAX = 2000
# A dotted path, so the knowledge base does not import the job module's callers.
# Whoever follows article changes (the search index) is told after each commit.
ARTICLE_CHANGES = Followers("article")
_READER = re.compile(r"^anon:[A-Za-z0-9_-]{16,64}$")
_UNSET = object()

_markdown = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


# --------------------------------------------------------------------------- rendering

def render_body(body: str, body_format: str) -> str:
    """The body as safe HTML: Markdown rendered (raw HTML in it is not passed through), rich text as
    given; both through the sanitiser's allowlist."""
    html = _markdown.render(body or "") if body_format == MARKDOWN else (body or "")
    return clean_html(html)


def safe_html(translation: KBTranslation) -> str:
    """The stored rendering, sanitised again on the way out (the allowlist may have tightened since)."""
    return clean_html(translation.body_html)


def default_language() -> str:
    return current_app.config.get("DEFAULT_LOCALE", "en")


# --------------------------------------------------------------------------- validation helpers

def _clean_title(errors, title, field="title", limit=TITLE_MAX):
    title = " ".join(strip_control(title or "").split())
    if not title:
        errors[field] = _l("Enter a title.")
    elif len(title) > limit:
        errors[field] = _l("Keep the title under %(max)s characters.", max=limit)
    return title


def _check_choice(errors, field, value, choices):
    if value not in choices:
        errors[field] = _l("Choose one of the offered values.")
    return value


def _check_parent(errors, parent, folder=None):
    if parent is None:
        return None
    if parent.parent_id is not None:
        errors["parent"] = _l("Folders nest two levels deep at most: choose a top-level folder.")
    elif folder is not None and (parent.id == folder.id or folder.children):
        errors["parent"] = _l("A folder with sub-folders stays at the top level.")
    return parent


def _clean_folder_translations(errors, translations) -> dict:
    """{language: (title, description)} of a folder in the languages other than the default, cleaned; a
    language given with neither is None (its translation goes). Errors under ``title_<language>``."""
    cleaned = {}
    for language, (title, description) in (translations or {}).items():
        field = f"title_{language}"
        if language not in LANGUAGES or language == default_language():
            errors[field] = _l("Choose one of the offered values.")
            continue
        title = " ".join(strip_control(title or "").split())
        description = strip_control(description or "").strip()
        if not title and not description:
            cleaned[language] = None
        elif not title:
            errors[field] = _l("Enter a title.")
        elif len(title) > FOLDER_TITLE_MAX:
            errors[field] = _l("Keep the title under %(max)s characters.", max=FOLDER_TITLE_MAX)
        else:
            cleaned[language] = (title, description)
    return cleaned


def _apply_folder_translations(folder, cleaned) -> list:
    """Set the folder's texts in other languages; returns the languages that changed."""
    existing = {t.language: t for t in folder.translations}
    changed = []
    for language, text in sorted(cleaned.items()):
        current = existing.get(language)
        if text is None:
            if current is not None:
                folder.translations.remove(current)
                changed.append(language)
        elif current is None:
            folder.translations.append(KBFolderTranslation(language=language, title=text[0], description=text[1]))
            changed.append(language)
        elif (current.title, current.description) != text:
            current.title, current.description = text
            changed.append(language)
    return changed


def _clean_tags(errors, tags):
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned = []
    for tag in tags or ():
        tag = " ".join(strip_control(tag).split()).lower()
        if tag and tag not in cleaned:
            cleaned.append(tag)
    joined = ",".join(cleaned)
    if len(joined) > TAGS_MAX:
        errors["tags"] = _l("Use fewer tags (at most %(max)s characters in all).", max=TAGS_MAX)
    return joined


def _youtube_id(parts):
    if parts.hostname in ("youtu.be",):
        return parts.path.strip("/")
    if parts.hostname in ("www.youtube.com", "youtube.com") and parts.path == "/watch":
        return (parse_qs(parts.query).get("v") or [""])[0]
    return ""


def embed_url(url):
    """``url`` as a player URL on one of KB_VIDEO_HOSTS, or None when it is not allowed. A YouTube
    page link becomes the privacy-enhanced player when that host is allowed."""
    hosts = current_app.config["KB_VIDEO_HOSTS"]
    parts = urlsplit(url.strip())
    video_id = _youtube_id(parts)
    if video_id and re.fullmatch(r"[A-Za-z0-9_-]{6,20}", video_id) and "www.youtube-nocookie.com" in hosts:
        return f"https://www.youtube-nocookie.com/embed/{video_id}"
    if parts.scheme == "https" and parts.hostname in hosts and not parts.username and not parts.port:
        return parts.geturl()
    return None


def _clean_video_url(errors, url):
    url = (url or "").strip()
    if not url:
        return None
    embed = embed_url(url)
    if embed is None:
        errors["video_url"] = _l("Videos can be embedded from these sites only: %(hosts)s.",
                                 hosts=", ".join(current_app.config["KB_VIDEO_HOSTS"]))
    return embed


def _check_video_file(errors, video):
    if video is None:
        return None
    if video.content_type not in current_app.config["KB_VIDEO_TYPES"]:
        errors["video"] = _l("Upload an MP4, WebM or Ogg video.")
    elif video.size > current_app.config["KB_VIDEO_MAX_BYTES"]:
        errors["video"] = _l("The video is too large.")
    return video


def _check_language(errors, language):
    if language not in LANGUAGES:
        errors["language"] = _l("Choose one of the offered languages.")
    return language


def _clean_body(errors, body, body_format):
    body = strip_control(body or "")
    _check_choice(errors, "body_format", body_format, BODY_FORMATS)
    if not body.strip():
        errors["body"] = _l("Write the article.")
    elif len(body) > current_app.config["MAX_MESSAGE_CHARS"]:
        errors["body"] = _l("The article is too long.")
    return body


# --------------------------------------------------------------------------- internal helpers

def _reindex(article):
    ARTICLE_CHANGES.changed(article)


def _reindex_folder(folder):
    ids = db.session.scalars(sa.select(KBArticle.id).join(KBFolder, KBArticle.folder_id == KBFolder.id)
                             .where(sa.or_(KBFolder.id == folder.id, KBFolder.parent_id == folder.id))).all()
    for article_id in ids:
        ARTICLE_CHANGES.changed(article_id)


def _next_position(model, **where):
    current = db.session.scalar(sa.select(sa.func.max(model.position)).filter_by(**where))
    return (current or 0) + 1


def _set_translation(article, language, title, body, body_format, now):
    translation = next((t for t in article.translations if t.language == language), None)
    if translation is None:
        translation = KBTranslation(language=language)
        article.translations.append(translation)
    html = render_body(body, body_format)
    translation.title, translation.body, translation.body_format = title, body, body_format
    translation.body_html, translation.body_text, translation.updated_at = html, html_to_text(html), now
    return translation


def _snapshot(article):
    return {
        "folder_id": article.folder.id if article.folder is not None else article.folder_id,
        "tags": article.tags,
        "product": article.product,
        "video_url": article.video_url,
        "video": [article.video_key, article.video_filename, article.video_content_type],
        "translations": {t.language: {"title": t.title, "body": t.body, "body_format": t.body_format}
                         for t in article.translations},
    }


def _add_revision(article, actor, summary, now):
    number = (db.session.scalar(sa.select(sa.func.max(KBRevision.number))
                                .where(KBRevision.article_id == article.id)) or 0) + 1 if article.id else 1
    revision = KBRevision(number=number, editor_id=actor.id, created_at=now, summary=summary,
                          snapshot=_snapshot(article))
    article.revisions.append(revision)
    return revision


def _editor_id(actor):
    if getattr(actor, "id", None) is None:
        raise NotAllowed()  # articles name a person as author and editor
    return actor.id


def _store_video(article, video):
    if video.stream is not None:
        video.stream.seek(0)
        key, _size = storage.put_file(video.stream)
    else:
        key, _size = storage.put(video.data)
    article.video_key, article.video_content_type = key, video.content_type
    article.video_filename = clean_filename(video.filename, default="video")


# --------------------------------------------------------------------------- editors

def set_editor(actor, user, allowed: bool):
    """Give or take the knowledge-base editor right. Only admins (and the CLI) may; only agents can hold it."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    if allowed and not user.is_agent:
        raise ValidationFailed({"kb_editor": _l("Only agents can edit the knowledge base.")})
    user.kb_editor = bool(allowed)
    audit.record(actor, "user", user.id, "kb-editor", {"kb_editor": bool(allowed)})
    commit_service_call(db.session)
    return user


# --------------------------------------------------------------------------- folders

def create_folder(actor, *, title, description="", parent=None, visibility="public", kind=STANDARD,
                  translations=None) -> KBFolder:
    """A new folder at the end of its level. Editors only; folders nest two levels deep at most.
    ``title`` and ``description`` are in the desk's default language; ``translations`` maps other languages to
    (title, description)."""
    access.require_editor(actor)
    errors = {}
    title = _clean_title(errors, title, limit=FOLDER_TITLE_MAX)
    translations = _clean_folder_translations(errors, translations)
    _check_choice(errors, "visibility", visibility, VISIBILITIES)
    _check_choice(errors, "kind", kind, FOLDER_KINDS)
    _check_parent(errors, parent)
    if errors:
        raise ValidationFailed(errors)
    folder = KBFolder(title=title, description=strip_control(description or "").strip(), parent=parent,
                      visibility=visibility, kind=kind,
                      position=_next_position(KBFolder, parent_id=parent.id if parent else None))
    _apply_folder_translations(folder, translations)
    db.session.add(folder)
    db.session.flush()
    audit.record(actor, "kb-folder", folder.id, "created", {"title": title, "languages": sorted(
        language for language, text in translations.items() if text)})
    commit_service_call(db.session)
    return folder


def update_folder(actor, folder, *, title, description="", parent=None, visibility="public",
                  kind=STANDARD, translations=None) -> KBFolder:
    """Change a folder's title, description, place, visibility or kind; its articles are re-indexed.
    ``translations`` (language → (title, description); both empty removes one) changes only the languages it
    names; None leaves them all."""
    access.require_editor(actor)
    errors = {}
    title = _clean_title(errors, title, limit=FOLDER_TITLE_MAX)
    translations = _clean_folder_translations(errors, translations)
    _check_choice(errors, "visibility", visibility, VISIBILITIES)
    _check_choice(errors, "kind", kind, FOLDER_KINDS)
    _check_parent(errors, parent, folder)
    if errors:
        raise ValidationFailed(errors)
    if (parent.id if parent else None) != folder.parent_id:
        folder.position = _next_position(KBFolder, parent_id=parent.id if parent else None)
    folder.title, folder.description, folder.parent = title, strip_control(description or "").strip(), parent
    folder.visibility, folder.kind, folder.updated_at = visibility, kind, utcnow()
    languages = _apply_folder_translations(folder, translations)
    audit.record(actor, "kb-folder", folder.id, "changed", {"title": title, "visibility": visibility,
                                                            "languages": languages})
    _reindex_folder(folder)
    commit_service_call(db.session)
    return folder


def _swap(items, item, direction):
    index = items.index(item)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(items):
        return False
    items[index], items[other] = items[other], items[index]
    for position, each in enumerate(items, start=1):
        each.position = position
    return True


def move_folder(actor, folder, direction) -> KBFolder:
    """Move a folder one place ``up`` or ``down`` among its siblings (nothing happens at either end)."""
    access.require_editor(actor)
    siblings = db.session.scalars(sa.select(KBFolder).where(
        KBFolder.parent_id.is_(None) if folder.parent_id is None else KBFolder.parent_id == folder.parent_id)
        .order_by(KBFolder.position, KBFolder.id)).all()
    if _swap(siblings, folder, direction):
        audit.record(actor, "kb-folder", folder.id, "moved", {"direction": direction})
        commit_service_call(db.session)
    return folder


def move_article(actor, article, direction) -> KBArticle:
    """Move an article one place ``up`` or ``down`` in its folder."""
    access.require_editor(actor)
    siblings = db.session.scalars(sa.select(KBArticle).where(KBArticle.folder_id == article.folder_id)
                                  .order_by(KBArticle.position, KBArticle.id)).all()
    if _swap(siblings, article, direction):
        audit.record(actor, "kb-article", article.id, "moved", {"direction": direction})
        commit_service_call(db.session)
    return article


# --------------------------------------------------------------------------- articles

def create_article(actor, *, folder, language, title, body, body_format=MARKDOWN, tags="", product="",
                   video_url="", video=None, publish=False) -> KBArticle:
    """A new article (a draft unless ``publish``) with its first text in ``language`` and revision 1."""
    access.require_editor(actor)
    errors = {}
    title = _clean_title(errors, title)
    body = _clean_body(errors, body, body_format)
    _check_language(errors, language)
    if folder is None:
        errors["folder"] = _l("Choose a folder.")
    tags = _clean_tags(errors, tags)
    product = " ".join(strip_control(product or "").split())[:200]
    video_url = _clean_video_url(errors, video_url)
    video = _check_video_file(errors, video)
    if errors:
        raise ValidationFailed(errors)
    editor_id, now = _editor_id(actor), utcnow()
    article = KBArticle(folder=folder, position=_next_position(KBArticle, folder_id=folder.id), tags=tags,
                        product=product, video_url=video_url, author_id=editor_id, editor_id=editor_id,
                        status=PUBLISHED if publish else DRAFT, created_at=now, updated_at=now,
                        published_at=now if publish else None)
    if video is not None:
        _store_video(article, video)
    db.session.add(article)
    _set_translation(article, language, title, body, body_format, now)
    _add_revision(article, actor, "created", now)
    db.session.flush()
    audit.record(actor, "kb-article", article.id, "created", {"title": title, "status": article.status})
    _reindex(article)
    commit_service_call(db.session)
    return article


def update_article(actor, article, *, language, title, body, body_format=MARKDOWN, folder=_UNSET, tags=_UNSET,
                   product=_UNSET, video_url=_UNSET, video=None, remove_video=False) -> KBArticle:
    """Save an edit: the text in ``language`` (added if the article had none in it) and any of the
    article's other fields that are given. Every edit keeps a revision."""
    access.require_editor(actor)
    errors = {}
    title = _clean_title(errors, title)
    body = _clean_body(errors, body, body_format)
    _check_language(errors, language)
    if folder is not _UNSET and folder is None:
        errors["folder"] = _l("Choose a folder.")
    if tags is not _UNSET:
        tags = _clean_tags(errors, tags)
    if video_url is not _UNSET:
        video_url = _clean_video_url(errors, video_url)
    video = _check_video_file(errors, video)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    if folder is not _UNSET and folder.id != article.folder_id:
        article.folder, article.position = folder, _next_position(KBArticle, folder_id=folder.id)
    if tags is not _UNSET:
        article.tags = tags
    if product is not _UNSET:
        article.product = " ".join(strip_control(product or "").split())[:200]
    if video_url is not _UNSET:
        article.video_url = video_url
    if remove_video:
        article.video_key = article.video_filename = article.video_content_type = None
    if video is not None:
        _store_video(article, video)
    _set_translation(article, language, title, body, body_format, now)
    article.editor_id, article.updated_at = _editor_id(actor), now
    revision = _add_revision(article, actor, f"edited:{language}", now)
    audit.record(actor, "kb-article", article.id, "edited", {"language": language, "revision": revision.number})
    _reindex(article)
    commit_service_call(db.session)
    return article


def _set_status(actor, article, status):
    access.require_editor(actor)
    if article.status == status:
        return article
    now = utcnow()
    article.status, article.editor_id, article.updated_at = status, _editor_id(actor), now
    if status == PUBLISHED:
        article.published_at = now
    audit.record(actor, "kb-article", article.id, "published" if status == PUBLISHED else "unpublished")
    _reindex(article)
    commit_service_call(db.session)
    return article


def publish(actor, article) -> KBArticle:
    """Make the article readable by its folder's audience."""
    return _set_status(actor, article, PUBLISHED)


def unpublish(actor, article) -> KBArticle:
    """Take the article back to a draft only editors see."""
    return _set_status(actor, article, DRAFT)


def restore_revision(actor, article, number) -> KBArticle:
    """Bring the article's texts, folder, tags, product and video back to revision ``number``; the
    restore is itself a new revision (so it can be undone the same way)."""
    access.require_editor(actor)
    revision = db.session.scalar(sa.select(KBRevision).where(KBRevision.article_id == article.id,
                                                             KBRevision.number == int(number)))
    if revision is None:
        raise NotFound()
    snapshot, now = revision.snapshot, utcnow()
    folder = db.session.get(KBFolder, snapshot["folder_id"])
    if folder is not None and folder.id != article.folder_id:
        article.folder, article.position = folder, _next_position(KBArticle, folder_id=folder.id)
    article.tags, article.product, article.video_url = snapshot["tags"], snapshot["product"], snapshot["video_url"]
    article.video_key, article.video_filename, article.video_content_type = snapshot["video"]
    wanted = snapshot["translations"]
    for translation in list(article.translations):
        if translation.language not in wanted:
            article.translations.remove(translation)
    for language, text in wanted.items():
        _set_translation(article, language, text["title"], text["body"], text["body_format"], now)
    article.editor_id, article.updated_at = _editor_id(actor), now
    new = _add_revision(article, actor, f"restored:{revision.number}", now)
    audit.record(actor, "kb-article", article.id, "restored", {"revision": revision.number, "as": new.number})
    _reindex(article)
    commit_service_call(db.session)
    return article


def revision_text(revision, language):
    """A revision's title and sanitised body in ``language`` (or its first language), for viewing."""
    texts = revision.snapshot["translations"]
    text = texts.get(language) or next(iter(texts.values()), None)
    if text is None:
        return "", ""
    return text["title"], render_body(text["body"], text["body_format"])


# --------------------------------------------------------------------------- reading helpers

def latest_news(actor, limit=5):
    """The newest published articles of the "latest news" folders ``actor`` may read, newest first."""
    return db.session.scalars(
        access.visible_articles(actor).where(KBFolder.kind == NEWS)
        .order_by(KBArticle.published_at.desc(), KBArticle.id.desc()).limit(limit)
        .options(selectinload(KBArticle.translations))
    ).all()


def related_articles(actor, article, limit=5):
    """Other readable articles sharing a tag, the product or, failing those, the folder."""
    candidates = db.session.scalars(
        access.visible_articles(actor).where(KBArticle.id != article.id)
        .options(selectinload(KBArticle.translations))
    ).all()
    tags = set(article.tag_list)

    def score(other):
        shared = len(tags & set(other.tag_list)) * 2
        shared += 2 if article.product and other.product == article.product else 0
        return shared + (1 if other.folder_id == article.folder_id else 0)

    ranked = sorted((c for c in candidates if score(c) > 0), key=lambda c: (-score(c), c.position, c.id))
    return ranked[:limit]


# --------------------------------------------------------------------------- "was this helpful?"

def reader_key(actor, anonymous_id=None) -> str:
    """Who a vote belongs to: the user, or the guest browser's random id (``anon:…``)."""
    if actor is not None and getattr(actor, "id", None) is not None:
        return f"user:{actor.id}"
    if anonymous_id and _READER.match(f"anon:{anonymous_id}"):
        return f"anon:{anonymous_id}"
    raise NotAllowed()


def vote_of(reader, article):
    return db.session.scalar(sa.select(KBVote).where(KBVote.article_id == article.id, KBVote.reader == reader))


def vote(actor, article, *, reader, helpful: bool) -> KBVote:
    """Record (or change) this reader's answer to "was this article helpful?": one vote per reader
    and article. Changing to helpful drops an earlier "what was missing" comment."""
    now = utcnow()
    existing = vote_of(reader, article)
    if existing is None:
        existing = KBVote(article_id=article.id, reader=reader, user_id=getattr(actor, "id", None),
                          helpful=bool(helpful), comment="", created_at=now, updated_at=now)
        db.session.add(existing)
    else:
        existing.helpful, existing.updated_at = bool(helpful), now
    if helpful and existing.ticket_id is None:
        existing.comment, existing.email = "", None
    commit_service_call(db.session)
    return existing


def send_feedback(actor, article, *, reader, comment, email="") -> KBVote:
    """The "Sorry we couldn't help" form: what was missing and, optionally, an address to answer.
    It belongs to the reader's not-helpful vote (made now if they had none)."""
    errors = {}
    comment = strip_control(comment or "").strip()
    if not comment:
        errors["comment"] = _l("Tell us what was missing.")
    elif len(comment) > COMMENT_MAX:
        errors["comment"] = _l("Keep it under %(max)s characters.", max=COMMENT_MAX)
    email = (email or "").strip()
    if email:
        try:
            email = accounts.normalise_email(email)
        except ValueError:
            errors["email"] = _l("Enter a valid email address.")
    elif actor is not None and getattr(actor, "email", None):
        email = actor.email
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    existing = vote_of(reader, article)
    if existing is None:
        existing = KBVote(article_id=article.id, reader=reader, user_id=getattr(actor, "id", None),
                          created_at=now)
        db.session.add(existing)
    existing.helpful, existing.comment, existing.email, existing.updated_at = False, comment, email or None, now
    commit_service_call(db.session)
    return existing


def feedback_summary(actor):
    """Per article: (article, helpful count, not-helpful count), most not-helpful first. Editors only."""
    access.require_editor(actor)
    helpful = sa.func.sum(sa.case((KBVote.helpful.is_(True), 1), else_=0))
    unhelpful = sa.func.sum(sa.case((KBVote.helpful.is_(False), 1), else_=0))
    rows = db.session.execute(
        sa.select(KBVote.article_id, helpful, unhelpful).group_by(KBVote.article_id)
        .order_by(unhelpful.desc(), helpful.asc(), KBVote.article_id)
    ).all()
    articles = {a.id: a for a in db.session.scalars(
        sa.select(KBArticle).where(KBArticle.id.in_([r[0] for r in rows]))
        .options(selectinload(KBArticle.translations)))}
    return [(articles[r[0]], int(r[1] or 0), int(r[2] or 0)) for r in rows if r[0] in articles]


def feedback_comments(actor, article):
    """The not-helpful comments on ``article``, newest first. Editors only."""
    access.require_editor(actor)
    return db.session.scalars(sa.select(KBVote).where(KBVote.article_id == article.id,
                                                      KBVote.helpful.is_(False), KBVote.comment != "")
                              .order_by(KBVote.updated_at.desc(), KBVote.id.desc())).all()


def feedback_to_ticket(actor, vote_id):
    """Open a ticket for the reader who left a not-helpful comment with an email address, quoting it;
    the comment remembers the ticket, so a second click changes nothing. Editors only."""
    access.require_editor(actor)
    feedback = db.session.get(KBVote, vote_id)
    if feedback is None:
        raise NotFound()
    if feedback.helpful or not feedback.comment or not feedback.email:
        raise ValidationFailed({"email": _l("Only feedback with an email address can become a ticket.")})
    if feedback.ticket_id is not None:
        raise Conflict(_l("This feedback is already a ticket."))
    article = feedback.article
    text = article.translation(default_language(), default_language())
    title = text.title if text else str(article.id)
    base = current_app.config["BASE_URL"].rstrip("/")
    with Batch(db.session):
        ticket = tickets.open_ticket(
            actor, subject=str(_l("Knowledge base feedback: %(title)s", title=title))[:255],
            body_text=f"{feedback.comment}\n\n{base}/kb/articles/{article.id}", requester_email=feedback.email,
            source="web",
        )
        feedback.ticket_id = ticket.id
        audit.record(actor, "kb-article", article.id, "feedback-ticket", {"vote": feedback.id, "ticket": ticket.number})
    return ticket
