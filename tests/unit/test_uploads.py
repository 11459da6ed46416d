"""File names and contents of uploads: one normalisation for the blocked-program check and the storage, the
program sniffing by first bytes, and the Content-Disposition of downloads in any script."""
import pytest
from werkzeug.http import parse_options_header

from helpdesk.uploads import clean_filename, extensions, is_program
from helpdesk.web.downloads import content_disposition

BLOCKED = ["exe", "vbs", "js", "bat", "scr", "sh", "app"]


@pytest.mark.parametrize("sent, stored", [
    ("evil.vbs ", "evil.vbs"),
    ("evil.vbs.", "evil.vbs"),
    ("evil.vbs. . .", "evil.vbs"),
    ("evil.vbs\t", "evil.vbs"),
    ("evil.vbs\x00", "evil.vbs"),
    ("evil.vbs\x00.txt", "evil.vbs.txt"),
    ("evil.vbs\r\n", "evil.vbs"),
    ("evil.vbs\u00a0", "evil.vbs"),  # no-break space
    ("evil.vbs\u3000", "evil.vbs"),  # ideographic space
    ("evil.vbs\u2003", "evil.vbs"),  # em space
    ("evil.vbs\u200b", "evil.vbs"),  # zero-width space
    ("\ufeffevil.vbs", "evil.vbs"),  # byte order mark
    ("evil.vbs::$DATA", "evil.vbs"),
    ("evil.vbs:hidden:$DATA", "evil.vbs"),
    ("evil.vbs::$DATA ", "evil.vbs"),
    ("evil.vbs:stream", "evil.vbs_stream"),
    ("invoice\u202egpj.exe", "invoicegpj.exe"),  # right-to-left override: shown as "invoiceexe.jpg"
    ("photo\u2066.jpg\u2069.exe", "photo.jpg.exe"),  # isolates
    ("C:\\Users\\eve\\evil.bat", "evil.bat"),
    ("../../etc/evil.sh", "evil.sh"),
    ("...hidden.txt", "hidden.txt"),
    ("  report.pdf  ", "report.pdf"),
    ("文件.txt", "文件.txt"),
    ("Cafe\u0301.txt", "Café.txt"),  # decomposed é is stored composed (NFC)
    ("", "attachment"),
    (" . . ", "attachment"),
    ("\u202e", "attachment"),
])
def test_names_are_cleaned_once_for_the_check_and_the_storage(sent, stored):
    assert clean_filename(sent) == stored
    assert clean_filename(stored) == stored  # cleaning twice changes nothing


def test_long_names_keep_their_extension():
    name = clean_filename("a" * 400 + ".exe")
    assert len(name) == 255 and name.endswith(".exe")
    assert is_program("a" * 400 + ".exe", b"text", BLOCKED)
    assert len(clean_filename("b" * 400)) == 255


@pytest.mark.parametrize("name", [
    "evil.vbs", "evil.vbs ", "evil.vbs.", "evil.vbs\t", "evil.vbs\x00", "evil.vbs\u3000", "evil.vbs\u200b",
    "evil.vbs::$DATA", "evil.vbs:x:$DATA", "EVIL.VbS", "Evil.EXE", "invoice.pdf.exe", "invoice.exe.pdf",
    "invoice\u202egpj.exe", "evil.ｖｂｓ", "evil\u2024vbs", "evil. vbs", "setup.exe\x00.txt", "run.sh\r\n",
    "folder/inner/run.bat", "C:\\temp\\tool.scr",
])
def test_blocked_extensions_are_found_whatever_surrounds_them(name):
    assert is_program(name, b"harmless text", BLOCKED)


@pytest.mark.parametrize("name", ["report.pdf", "notes.txt", "文件.txt", "vbs-notes.txt", "exe", "photo.jpeg",
                                  "evil.vbs_stream", "Appendix.docx"])
def test_ordinary_names_pass(name):
    assert not is_program(name, b"harmless text", BLOCKED)


@pytest.mark.parametrize("magic", [
    b"MZ\x90\x00", b"\x7fELF\x02\x01",
    b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe",  # Mach-O 32-bit, both byte orders
    b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit
    b"\xca\xfe\xba\xbe", b"\xbe\xba\xfe\xca",  # universal (fat) Mach-O
    b"\xca\xfe\xba\xbf", b"\xbf\xba\xfe\xca",  # universal 64-bit
])
def test_programs_are_found_by_their_first_bytes_whatever_the_name(magic):
    assert is_program("holiday-photo.jpg", magic + b"\x00" * 60, BLOCKED)


def test_text_that_merely_mentions_a_magic_number_passes():
    assert not is_program("notes.txt", b"the file starts with MZ", BLOCKED)
    assert not is_program("empty.txt", b"", BLOCKED)


def test_extensions_are_folded_and_all_counted():
    assert extensions("Archive.TAR.Gz") == {"tar", "gz"}
    assert extensions("evil.ｖｂｓ") == {"vbs"}


def decoded_name(header):
    """The name a browser saves under: filename* when sent (werkzeug decodes RFC 2231/5987), else filename."""
    kind, options = parse_options_header(header)
    return kind, options["filename"]


@pytest.mark.parametrize("name", [
    "文件.txt", "Счёт-фактура.pdf", "раураl.pdf", "گزارش ماهانه.pdf", "🎉 party 🎈.png", "Müller Brief.pdf",
    'say "hi".txt', "a;b;c.txt", "semi; filename=evil.exe", "back\\slash.txt", "percent%20.txt",
    "tab\there.txt", "quote'apostrophe.txt", "comma,name.txt", "日本語 ファイル.docx", "שלום.txt",
])
def test_downloads_name_files_in_any_script(name):
    header = content_disposition(name)
    header.encode("latin-1")  # an HTTP header must be Latin-1: it raised UnicodeEncodeError before
    assert "\r" not in header and "\n" not in header
    kind, saved = decoded_name(header)
    assert kind == "attachment"
    assert saved == clean_filename(name)
    _, fallback = header.split("filename=", 1)
    assert all(32 <= ord(c) < 127 for c in fallback)


def test_download_names_lose_line_breaks_and_keep_an_ascii_fallback():
    header = content_disposition("evil\r\nSet-Cookie: x=1.txt")
    assert "\r" not in header and "\n" not in header
    assert decoded_name(header)[1] == "evilSet-Cookie_ x=1.txt"
    assert content_disposition("photo.png") == "attachment; filename=photo.png"
    assert content_disposition("文件.txt").startswith("attachment; filename=download.txt; filename*=UTF-8''")
    assert content_disposition("clip.mp4", inline=True) == "inline; filename=clip.mp4"
