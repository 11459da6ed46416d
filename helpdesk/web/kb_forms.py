"""Forms of the knowledge base: the reader's feedback, and the editors' folder and article forms. The
service checks every value; choices here only draw the menus."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, FileField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.kb.models import BODY_FORMATS, FOLDER_KINDS, VISIBILITIES


def _choices(mapping):
    return [(code, str(label)) for code, label in mapping.items()]


class FeedbackForm(FlaskForm):
    """"Sorry we couldn't help": what was missing, and an address if the reader wants an answer."""

    comment = TextAreaField(_l("What were you looking for?"), validators=[Length(max=2000)])
    email = StringField(_l("Your email address (optional, if you want an answer)"), validators=[Length(max=254)])


class FolderForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"))
    parent = SelectField(_l("Inside folder"), validate_choice=False)
    visibility = SelectField(_l("Who can read it"), choices=lambda: _choices(VISIBILITIES), validate_choice=False)
    kind = SelectField(_l("Kind"), choices=lambda: _choices(FOLDER_KINDS), validate_choice=False)


# The folder's title and description in each language (the view shows those other than the desk's default,
# whose text is ``title`` and ``description``).
for _code, _name in LANGUAGES.items():
    setattr(FolderForm, f"title_{_code}", StringField(_l("Title (%(language)s)", language=_name),
                                                      validators=[Length(max=200)], render_kw={"lang": _code}))
    setattr(FolderForm, f"description_{_code}", TextAreaField(_l("Description (%(language)s)", language=_name),
                                                              render_kw={"lang": _code, "rows": 2}))


def folder_translations(form, languages) -> dict:
    """language → (title, description) as the form holds them, for ``languages``."""
    return {code: (form[f"title_{code}"].data, form[f"description_{code}"].data) for code in languages}


class ArticleForm(FlaskForm):
    language = SelectField(_l("Language of this text"), choices=lambda: list(LANGUAGES.items()),
                           validate_choice=False)
    title = StringField(_l("Title"), validators=[Length(max=255)])
    body = TextAreaField(_l("Article"))
    body_format = SelectField(_l("Format"), choices=lambda: _choices(BODY_FORMATS), validate_choice=False)
    folder = SelectField(_l("Folder"), validate_choice=False)
    tags = StringField(_l("Tags (separated by commas)"), validators=[Length(max=500)])
    # The device type the article is about (its code; issue 19): the view offers the catalogue's types. Not
    # checked against them: the knowledge base keeps any short text (an article's older product name, the CLI's).
    product = SelectField(_l("Device type (optional)"), choices=[], validate_choice=False)
    video_url = StringField(_l("Video link (optional)"), validators=[Length(max=500)])
    video = FileField(_l("Or upload a video file (optional)"))
    remove_video = BooleanField(_l("Remove the uploaded video"))
    publish = BooleanField(_l("Publish now"))
