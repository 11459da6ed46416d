"""The text a PDF draws, read back the way a viewer does: each text-showing operator's glyph codes mapped to
Unicode through its font's ToUnicode table. Enough for fpdf2's output (Type0 fonts, Identity-H, literal strings,
Flate streams); no PDF library is installed for the tests to lean on."""
import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
# Not "\r?\nendstream": compressed data may end in a \r byte of its own (fpdf2 writes "\nendstream").
_STREAM = re.compile(rb"stream\r?\n(.*?)\nendstream", re.S)
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}


def _objects(data: bytes) -> dict:
    """{number: (dictionary bytes, decoded stream bytes or None)}."""
    objects = {}
    for match in _OBJECT.finditer(data):
        body = match.group(2)
        stream = _STREAM.search(body)
        content = None
        if stream:
            content = stream.group(1)
            if b"/FlateDecode" in body[:stream.start()]:
                content = zlib.decompress(content)
        objects[int(match.group(1))] = (body[:stream.start()] if stream else body, content)
    return objects


def _cmap(stream: bytes) -> dict:
    mapping = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for low, high, start in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            for offset in range(int(high, 16) - int(low, 16) + 1):
                mapping[int(low, 16) + offset] = chr(int(start, 16) + offset)
    return mapping


def _literal(raw: bytes) -> bytes:
    """A PDF literal string's bytes (the part between its parentheses), escapes undone."""
    out, i = bytearray(), 0
    while i < len(raw):
        byte = raw[i]
        if byte != 0x5C:
            out.append(byte)
            i += 1
            continue
        following = raw[i + 1]
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
        if octal:
            out.append(int(octal.group(0), 8) & 0xFF)
            i += 1 + len(octal.group(0))
        else:
            out.append(_ESCAPES.get(following, following))
            i += 2
    return bytes(out)


_TOKENS = re.compile(rb"/(\w+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)


def drawn_text(data: bytes) -> list[str]:
    """Every string the PDF draws, in drawing order, as Unicode (display order, as on paper)."""
    objects = _objects(data)
    fonts = {}  # resource name → ToUnicode mapping
    for body, _stream in objects.values():
        for name, number in re.findall(rb"/(F\d+)\s+(\d+) 0 R", body):
            font_body = objects.get(int(number), (b"", None))[0]
            to_unicode = re.search(rb"/ToUnicode\s+(\d+) 0 R", font_body)
            if to_unicode:
                fonts[name] = _cmap(objects[int(to_unicode.group(1))][1])
    texts = []
    for body, stream in objects.values():
        if stream is None or b"BT" not in stream or b"/Length1" in body:
            continue
        current = {}
        for match in _TOKENS.finditer(stream):
            if match.group(1):
                current = fonts.get(match.group(1), {})
                continue
            raw = _literal(match.group(2))
            codes = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw) - 1, 2)]
            texts.append("".join(current.get(code, "\ufffd") for code in codes))
    return texts
