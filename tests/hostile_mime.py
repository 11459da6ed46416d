"""Hypothesis strategies for broken mail as real programs send it: broken boundaries, wrong or unknown
charsets, 8-bit bytes in headers, duplicated and folded headers, bad base64 and quoted-printable, nested
message/rfc822 parts and NUL bytes. Shared by the parser's unit tests and the pipeline's integration tests."""
from hypothesis import strategies as st

CHARSETS = [b"utf-8", b"iso-8859-1", b"windows-1254", b"koi8-r", b"x-unknown", b"utf-7", b"no-such-charset",
            b"", b"\"utf-8", b"gb2312", b"iso-2022-jp"]
HEADER_NAMES = [b"From", b"To", b"Cc", b"Reply-To", b"Sender", b"Subject", b"Message-ID", b"In-Reply-To",
                b"References", b"Date", b"Content-Type", b"Content-Disposition", b"Content-Transfer-Encoding",
                b"Content-ID", b"Auto-Submitted", b"Precedence", b"List-Id", b"Authentication-Results",
                b"Delivered-To", b"X-Mailer", b"MIME-Version"]

_raw_text = st.binary(max_size=40)
_printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(str.encode)
_eight_bit = st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass"))
_latin = st.text(max_size=20).map(lambda s: s.encode("latin-1", "replace"))


@st.composite
def encoded_words(draw):
    charset = draw(st.sampled_from(CHARSETS))
    kind = draw(st.sampled_from([b"B", b"Q", b"b", b"X"]))
    payload = draw(st.one_of(_printable, st.sampled_from([b"=FF=FE", b"@@@", b"4pyT", b"=?", b"?=", b"_=2C_"])))
    return b"=?" + charset + b"?" + kind + b"?" + payload + b"?="


_header_value = st.lists(st.one_of(_printable, _eight_bit, _latin, _raw_text, encoded_words(),
                                   st.sampled_from([b"\r\n\t", b"\r\n ", b"\x00", b"<", b">", b",", b";", b"\"",
                                                    b"@", b"(", b")", b":", b"a@b", b"<x@y.example>"])),
                         max_size=6).map(b"".join)


@st.composite
def headers(draw, required=()):
    lines = [name + b": " + draw(_header_value) for name in required]
    for _ in range(draw(st.integers(0, 6))):
        lines.append(draw(st.sampled_from(HEADER_NAMES)) + b": " + draw(_header_value))
    draw(st.randoms(use_true_random=False)).shuffle(lines)
    return b"\r\n".join(lines)


@st.composite
def bodies(draw, depth=0):
    kind = draw(st.sampled_from(["text", "base64", "qp", "multipart", "rfc822"] if depth < 2 else ["text", "base64"]))
    charset = draw(st.sampled_from(CHARSETS))
    if kind == "text":
        return b"Content-Type: text/plain; charset=" + charset, draw(st.one_of(_eight_bit, _latin, _raw_text))
    if kind == "base64":
        data = draw(st.sampled_from([b"SGVsbG8=", b"SGVsbG8", b"@@@@", b"=====", b"SGV\r\nsbG8=\x00", b""]))
        name = draw(st.one_of(st.just(b""), _eight_bit.map(lambda n: b"; name=\"" + n + b"\"")))
        head = b"Content-Type: application/octet-stream" + name + b"\r\nContent-Transfer-Encoding: base64"
        return head, data
    if kind == "qp":
        data = draw(st.sampled_from([b"caf=E9", b"=ZZbroken=", b"soft=\r\nbreak", b"=", b"=\xff\x00"]))
        return (b"Content-Type: text/plain; charset=" + charset + b"\r\nContent-Transfer-Encoding: quoted-printable",
                data)
    if kind == "rfc822":
        inner_head = draw(headers(required=[b"From", b"Subject"]))
        inner_type, inner_body = draw(bodies(depth=depth + 1))
        return b"Content-Type: message/rfc822", inner_head + b"\r\n" + inner_type + b"\r\n\r\n" + inner_body
    boundary = draw(st.sampled_from([b"b1", b"=_weird==", b"", b"\"quoted\"", b"b1 b2"]))
    parts = draw(st.lists(bodies(depth=depth + 1), max_size=3))
    closing = draw(st.sampled_from([b"--b1--", b"", b"--other--", b"--b1"]))
    chunks = [b"--b1\r\n" + head + b"\r\n\r\n" + body for head, body in parts]
    return b"Content-Type: multipart/mixed; boundary=" + boundary, b"\r\n".join(chunks) + b"\r\n" + closing


@st.composite
def hostile_mail(draw):
    """Bytes of one broken message; it always has some header, so it is mail-like enough to be stored."""
    head = draw(headers(required=draw(st.sampled_from([[b"From"], [b"From", b"Subject"], [b"Subject"], []]))))
    # Mostly a usable sender up front, so the broken rest gets as far as a ticket.
    sender = draw(st.sampled_from([b"From: Broken Mailer <broken@mailer.example>\r\n",
                                   b"From: plain@mailer.example\r\n",
                                   b"From: =?utf-8?q?M=C3=BCller?= <mueller@mailer.example>\r\n", b""]))
    head = sender + head
    content_type, body = draw(bodies())
    line_end = draw(st.sampled_from([b"\r\n", b"\n"]))
    raw = head + b"\r\n" + b"X-Test: hostile\r\n" + content_type + b"\r\n\r\n" + body + b"\r\n"
    return raw.replace(b"\r\n", line_end)
