"""Translated messages are plain text: values put into them (an address, a file name, a person's name) are
escaped wherever the message is written into HTML: a template, a flash that went through the session, Markup,
a form's error list. flask_babel's own lazy strings counted as markup and were written raw (issue 12)."""
import pytest
from flask import Flask, flash, render_template_string
from flask_babel import Babel
from markupsafe import Markup, escape
from wtforms import Form, StringField

from helpdesk.i18n import lazy_gettext

PAYLOADS = ['<a href="https://evil.example/">x</a>', "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>', "<svg/onload=alert(1)>", "' onmouseover='alert(1)",
            "<iframe src=//evil.example>", "&lt;b&gt;already escaped"]


@pytest.fixture
def app():
    app = Flask(__name__)
    app.secret_key = "test"
    Babel(app)
    return app


@pytest.mark.parametrize("payload", PAYLOADS)
def test_values_in_a_lazy_message_are_escaped_in_templates(app, payload):
    message = lazy_gettext("%(address)s is not a valid email address.", address=payload)
    with app.test_request_context():
        assert str(message) == f"{payload} is not a valid email address."  # plain text for mail and logs
        html = render_template_string("<p>{{ message }}</p>", message=message)
        assert html == f"<p>{escape(payload)} is not a valid email address.</p>"
        assert Markup(message) == escape(str(message))  # noqa: S704 (what Markup makes of a message)
        expected = f"<b>{escape(payload)} is not a valid email address.</b>"
        assert Markup("<b>%s</b>") % message == expected


@pytest.mark.fresh_app  # adds routes of its own
@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_flashed_lazy_message_stays_escaped_after_the_session(app, payload):
    @app.route("/set")
    def set_flash():
        flash(lazy_gettext("%(name)s no longer receives copies.", name=payload), "success")
        return ""

    @app.route("/show")
    def show():
        return render_template_string("{% for m in get_flashed_messages() %}<div>{{ m }}</div>{% endfor %}")

    client = app.test_client()
    client.get("/set")
    page = client.get("/show").get_data(as_text=True)
    assert page == f"<div>{escape(payload)} no longer receives copies.</div>"


def test_form_errors_and_labels_from_lazy_messages_are_escaped(app):
    class F(Form):
        name = StringField(lazy_gettext("Name of %(thing)s", thing="<b>it</b>"))

    with app.test_request_context():
        form = F()
        form.name.errors = [lazy_gettext("%(name)s is empty.", name="<img src=x onerror=alert(1)>")]
        html = render_template_string("{{ form.name.label }}{% for e in form.name.errors %}{{ e }}{% endfor %}",
                                      form=form)
        assert "<b>" not in html and "<img" not in html
        assert "&lt;b&gt;it&lt;/b&gt;" in html and "&lt;img src=x onerror=alert(1)&gt; is empty." in html


def test_messages_without_values_render_as_before(app):
    with app.test_request_context():
        assert render_template_string("{{ m }}", m=lazy_gettext("Not found.")) == "Not found."
        assert render_template_string("{{ m }}", m=lazy_gettext("Actor's email address")) == "Actor&#39;s email address"
