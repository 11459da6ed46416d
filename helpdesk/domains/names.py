"""Domain names as people type them and as registries read them: normalised (trimmed, lower-cased, a trailing dot
and a scheme or path dropped), IDNs turned into ASCII (punycode, IDNA 2008 with UTS 46 mapping through the
``idna`` package) and checked (labels of 1-63 letters, digits and hyphens, no hyphen at either end, 253 characters
in all) before anything is asked of the network. Name servers are checked the same way."""
import re
from dataclasses import dataclass

import idna

from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l

NAME_MAX, LABEL_MAX = 253, 63
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TYPED_MAX = 300  # what we read of a typed name at all


@dataclass(frozen=True)
class DomainName:
    """A checked name: ``ascii`` for registries (punycode), ``unicode`` for people."""

    ascii: str
    unicode: str

    @property
    def labels(self) -> list[str]:
        return self.ascii.split(".")


def _strip(typed: str) -> str:
    text = (typed or "").strip()[:_TYPED_MAX]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text, flags=re.I)  # a pasted URL: its host
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    if text.lower().startswith("www."):
        text = text[4:]
    return text.rstrip(".").replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")


def to_ascii(text: str) -> str | None:
    """``text`` (already stripped) as lower-case ASCII labels, None when IDNA refuses it."""
    if not text:
        return None
    if text.isascii() and "xn--" not in text.lower():
        return text.lower()
    try:
        return idna.encode(text, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def check_labels(ascii_name: str) -> str | None:
    """Why ``ascii_name`` is not a valid host name (a translated message), or None when it is."""
    if len(ascii_name) > NAME_MAX:
        return _l("A domain name has at most %(num)d characters.", num=NAME_MAX)
    for label in ascii_name.split("."):
        if not label:
            return _l("A domain name has no empty parts (two dots in a row).")
        if len(label) > LABEL_MAX:
            return _l("Each part of a domain name has at most %(num)d characters.", num=LABEL_MAX)
        if not _LABEL.fullmatch(label):
            return _l("Use letters, digits and hyphens, not at the start or end of a part.")
        if label[2:4] == "--" and not label.startswith("xn--"):
            return _l("Use letters, digits and hyphens, not at the start or end of a part.")
    return None


def _unicode(ascii_name: str) -> str:
    try:
        return idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError, ValueError):
        return ascii_name


def parse_name(typed: str, *, field: str = "name", min_labels: int = 2) -> DomainName:
    """The domain name typed in ``typed``, normalised and checked; ValidationFailed on ``field`` otherwise."""
    text = _strip(typed)
    if not text:
        raise ValidationFailed({field: _l("Enter a domain name.")})
    ascii_name = to_ascii(text)
    if ascii_name is None:
        raise ValidationFailed({field: _l("This is not a valid domain name.")})
    problem = check_labels(ascii_name)
    if problem is not None:
        raise ValidationFailed({field: problem})
    if len(ascii_name.split(".")) < min_labels:
        raise ValidationFailed({field: _l("Enter the whole domain name, such as example.hu.")})
    return DomainName(ascii=ascii_name, unicode=_unicode(ascii_name))


def split_label(typed: str, tlds) -> tuple[DomainName, str | None]:
    """What a customer typed in the check form: a single label ("sparrow") or a name ending in one of ``tlds``
    ("sparrow.hu"). Returns (the label as a DomainName, the TLD they typed or None). ValidationFailed (field
    "name") for anything else, such as a TLD not offered or a sub-domain."""
    text = _strip(typed)
    if not text:
        raise ValidationFailed({"name": _l("Enter a domain name.")})
    ascii_name = to_ascii(text)
    if ascii_name is None:
        raise ValidationFailed({"name": _l("This is not a valid domain name.")})
    problem = check_labels(ascii_name)
    if problem is not None:
        raise ValidationFailed({"name": problem})
    typed_tld = None
    if "." in ascii_name:
        typed_tld = max((tld for tld in tlds if ascii_name.endswith("." + tld)), key=len, default=None)
        if typed_tld is None:
            raise ValidationFailed({"name": _l("We do not offer this ending. We offer: %(tlds)s",
                                               tlds=", ".join("." + tld for tld in tlds))})
        ascii_name = ascii_name[: -len(typed_tld) - 1]
        if "." in ascii_name:
            raise ValidationFailed({"name": _l("Enter the name without a sub-domain, such as example.hu.")})
    return DomainName(ascii=ascii_name, unicode=_unicode(ascii_name)), typed_tld


def with_tld(label: DomainName, tld: str) -> DomainName:
    """``label`` under ``tld`` (ASCII), checked for length."""
    ascii_name = f"{label.ascii}.{tld}"
    problem = check_labels(ascii_name)
    if problem is not None:
        raise ValidationFailed({"name": problem})
    return DomainName(ascii=ascii_name, unicode=_unicode(ascii_name))


def parse_nameservers(lines, *, field: str = "nameservers") -> list[str]:
    """2 to 4 distinct name servers (host names, ASCII), one per entry of ``lines``; blank entries are skipped."""
    servers = []
    for line in lines or ():
        if not (line or "").strip():
            continue
        try:
            server = parse_name(line, field=field)
        except ValidationFailed:
            raise ValidationFailed({field: _l("“%(server)s” is not a valid name server host name.",
                                              server=(line or "").strip()[:80])}) from None
        if server.ascii not in servers:
            servers.append(server.ascii)
    if not 2 <= len(servers) <= 4:
        raise ValidationFailed({field: _l("Enter two to four different name servers.")})
    return servers
