"""The knowledge base's audit actions as sentences, and how the trail names folders and articles (in the
reader's language, else the desk's default). Registered on import."""
import sqlalchemy as sa
from flask_babel import get_locale
from sqlalchemy.orm import selectinload

from helpdesk.audit.sentences import Ref, register, register_kind
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.kb.models import KBArticle, KBFolder
from helpdesk.kb.service import default_language


def _reader_language():
    return str(get_locale() or default_language()).split("_")[0]


def _articles(ids):
    language, fallback = _reader_language(), default_language()
    articles = db.session.scalars(sa.select(KBArticle).where(KBArticle.id.in_(ids))
                                  .options(selectinload(KBArticle.translations))).all()
    found = {}
    for article in articles:
        text = article.translation(language, fallback)
        found[article.id] = Ref("kb-article", article.id, text.title if text else f"#{article.id}", key=article.id)
    return found


def _folders(ids):
    language = _reader_language()
    folders = db.session.scalars(sa.select(KBFolder).where(KBFolder.id.in_(ids))
                                 .options(selectinload(KBFolder.translations))).all()
    return {f.id: Ref("kb-folder", f.id, f.title_in(language), key=f.id) for f in folders}


register_kind("kb-article", name=_l("Knowledge base article"), describe=_articles, placeholder="title")
register_kind("kb-folder", name=_l("Knowledge base folder"), describe=_folders, placeholder="title")


def _moved(up, down):
    return lambda reading: reading.sentence(up if reading.changes.get("direction") == "up" else down)


def _edited(reading):
    language = reading.changes.get("language")
    return reading.sentence(_l("Edited the %(language)s text of the knowledge base article “%(title)s” "
                               "(revision %(revision)s)."), language=LANGUAGES.get(language, language or ""))


def _feedback_ticket(reading):
    number = reading.changes.get("ticket")
    ticket = Ref("ticket", None, str(number), key=number) if isinstance(number, int) else ""
    return reading.sentence(_l("Opened ticket #%(ticket)s from a reader’s feedback on the knowledge base "
                               "article “%(title)s”."), ticket=ticket)


register("kb-folder", "created", _l("Created the knowledge base folder “%(title)s”."))
register("kb-folder", "changed", _l("Changed the knowledge base folder “%(title)s”."))
register("kb-folder", "moved", _moved(_l("Moved the knowledge base folder “%(title)s” up."),
                                      _l("Moved the knowledge base folder “%(title)s” down.")))
register("kb-article", "created", _l("Created the knowledge base article “%(title)s”."))
register("kb-article", "edited", _edited)
register("kb-article", "published", _l("Published the knowledge base article “%(title)s”."))
register("kb-article", "unpublished", _l("Made the knowledge base article “%(title)s” a draft again."))
register("kb-article", "restored", _l("Restored revision %(revision)s of the knowledge base article “%(title)s” "
                                      "as revision %(as)s."))
register("kb-article", "moved", _moved(_l("Moved the knowledge base article “%(title)s” up."),
                                       _l("Moved the knowledge base article “%(title)s” down.")))
register("kb-article", "feedback-ticket", _feedback_ticket)
register("user", "kb-editor", lambda reading: reading.sentence(
    _l("Allowed %(name)s to edit the knowledge base.") if reading.changes.get("kb_editor")
    else _l("Took the right to edit the knowledge base from %(name)s.")))
