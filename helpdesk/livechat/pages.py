"""The live chat's pages and scripts: the console's chat inbox and history (HTML), the visitor widget's script
with its translated texts, the inbox script. The pages only render; everything they do goes through the door's
JSON endpoints, which call helpdesk.chat's services."""
import json
from functools import wraps
from pathlib import Path

from flask import Response, abort, current_app, render_template, request, send_from_directory
from flask_babel import get_locale
from flask_login import current_user

from helpdesk.chat import service as chat_service
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.i18n import lazy_pgettext, text_direction
from helpdesk.livechat.blueprint import bp
from helpdesk.tickets import departments

STATIC = Path(__file__).resolve().parent / "static"

# Every word the visitor's panel shows. The script gets them with itself (it may run on another website, where
# no page of ours could hand them over); "{name}"-style fields are filled in by the script.
WIDGET_TEXTS = {
    "open": _l("Chat with us"),
    "title": _l("Live chat"),
    "close": _l("Close"),
    "intro": _l("Ask us anything. An agent answers here."),
    "name": _l("Your name"),
    "email": _l("Your email address"),
    "department": _l("Department"),
    "any_department": _l("Any department"),
    "first_message": _l("How can we help?"),
    "start": _l("Start chat"),
    "message": _l("Message"),
    "send": _l("Send"),
    "attach": _l("Attach a file"),
    "typing": _l("Typing…"),
    "sent": lazy_pgettext("chat message", "Sent"),
    "read": lazy_pgettext("chat message", "Read"),
    "you": _l("You"),
    "agent": _l("Agent"),
    "end": _l("End chat"),
    "end_confirm": _l("End this chat?"),
    "waiting": _l("Waiting for an agent…"),
    "rate_question": _l("How was this chat?"),
    "good": _l("Good"),
    "bad": _l("Bad"),
    "comment": _l("Comment (optional)"),
    "send_rating": _l("Send rating"),
    "rated": _l("Thank you for your rating."),
    "transcript": _l("Email me the transcript"),
    "transcript_sent": _l("The transcript is on its way to your inbox."),
    "new_chat": _l("Start a new chat"),
    "closed": _l("We are not available for chat right now."),
    "no_agents": _l("No agent is available right now."),
    "long_wait": _l("Nobody has answered yet."),
    "leave_ticket": _l("Leave a message as a ticket"),
    "subject": _l("Subject"),
    "body": _l("Your message"),
    "send_ticket": _l("Send message"),
    "privacy": _l("I agree that my data is processed to handle this request, as the privacy policy describes."),
    "ticket_made": _l("Thank you. Your ticket number is #%(number)s. We answer by email.", number="{number}"),
    "reconnecting": _l("Connection lost. Reconnecting…"),
    "error": _l("Something went wrong. Please try again."),
    "download": _l("Download %(filename)s", filename="{filename}"),
}

# The inbox script's words (the page hands them over in a JSON block).
DESK_TEXTS = {
    "accept": _l("Accept"),
    "waited": _l("waiting %(duration)s", duration="{duration}"),
    "no_waiting": _l("Nobody is waiting."),
    "no_mine": _l("You have no open chats."),
    "typing": _l("%(name)s is typing…", name="{name}"),
    "read": lazy_pgettext("chat message", "Read"),
    "sent": lazy_pgettext("chat message", "Sent"),
    "note": _l("Internal note"),
    "ticket": _l("Ticket #%(number)s", number="{number}"),
    "ticket_made": _l("Ticket #%(number)s was opened from this chat.", number="{number}"),
    "end_confirm": _l("End this chat?"),
    "convert_confirm": _l("Open a ticket with this conversation?"),
    "no_tickets": _l("No tickets yet."),
    "no_services": _l("No services."),
    "guest": _l("Guest (no account)"),
    "reconnecting": _l("Connection lost. Reconnecting…"),
    "error": _l("Something went wrong. Please try again."),
    "over_limit": _l("You have as many chats as you may have at once."),
    "taken": _l("Another agent took this chat."),
    "rating_good": _l("Rated good"),
    "rating_bad": _l("Rated bad"),
    "download": _l("Download %(filename)s", filename="{filename}"),
}


def _texts(table) -> dict:
    return {key: str(text) for key, text in table.items()}


def _chat_on():
    if not current_app.config.get("CHAT_ENABLED"):
        abort(404)


def _staff_page(view):
    """Console pages: staff only (others are sent to log in, or get a 404 like the console's other pages)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        _chat_on()
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not current_user.is_agent:
            abort(404)
        return view(*args, **kwargs)
    return wrapper


@bp.app_context_processor
def _livechat_context():
    """What the web door's base template asks about the chat: whether to show the panel and the inbox link."""
    return {"livechat_enabled": bool(current_app.config.get("CHAT_ENABLED"))}


def _script(name: str, head: str = "") -> Response:
    """One of the chat's scripts as served: what goes before it, then the code both scripts share
    (chat-common.js), then the script itself, as one file (the panel must stay one script on other websites).
    Browsers ask again each time (no-cache) and get a 304 while the ETag still matches."""
    parts = [head] + [(STATIC / file).read_text(encoding="utf-8") for file in ("chat-common.js", name)]
    response = Response("".join(parts), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/widget.js")
def widget_js():
    """The visitor panel's script with its texts in the reader's language, for the portal and other websites."""
    _chat_on()
    texts = _texts(WIDGET_TEXTS)
    texts["dir"] = text_direction()
    texts["lang"] = str(get_locale() or "en").replace("_", "-")
    head = "window.HelpdeskChatTexts = %s;\n" % json.dumps(texts, ensure_ascii=False)
    response = _script("widget.js", head)
    # The texts follow the reader's language (cookie or Accept-Language): keep caches from mixing them.
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


@bp.route("/desk.js")
def desk_js():
    """The inbox's script."""
    _chat_on()
    return _script("desk.js")


@bp.route("/chat.css")
def chat_css():
    """The panel's and the inbox's styles (also loaded by the widget on other websites)."""
    _chat_on()
    return send_from_directory(STATIC, "chat.css", mimetype="text/css", max_age=0)


@bp.route("/desk/")
@_staff_page
def inbox():
    """The chat inbox: availability, the waiting chats, the agent's own chats as tabs, the conversation."""
    actor = current_user._get_current_object()
    agents = db.session.scalars(departments.agents_for(actor)).all()
    agents = sorted((a for a in agents if a.id != actor.id), key=lambda a: a.display_name.casefold())
    all_departments = db.session.scalars(departments.departments_for(actor)).all()
    all_departments = sorted(all_departments, key=lambda d: d.name.casefold())
    return render_template("livechat/inbox.html", agents=agents, departments=all_departments,
                           texts=_texts(DESK_TEXTS), availability=chat_service.availability_of(actor))


@bp.route("/desk/history")
@_staff_page
def history():
    """Past chats: a search by name, email or words said; one chat's transcript with its notes."""
    actor = current_user._get_current_object()
    query = request.args.get("q", "").strip()
    chats = chat_service.search_chats(actor, query) if query else []
    shown, events = None, []
    chat_id = request.args.get("chat", type=int)
    if chat_id:
        try:
            shown = chat_service.get_chat(actor, chat_id)
        except NotFound:
            abort(404)
        events = chat_service.events_for(actor, shown)
    return render_template("livechat/history.html", query=query, chats=chats, shown=shown, events=events,
                           describe=chat_service.describe)

