"""Who sent a message, as far as the receiving mail server could tell: the Authentication-Results
headers (RFC 8601) of the servers we trust, read against the message's single From address.

A header names the server that wrote it (its authserv-id); anyone can add one claiming "pass", so only
the topmost header of a configured authserv-id (MAIL_AUTHSERV_IDS) is believed. A "fail" from anyone
counts against a message: believing it can only hold back mail."""
import re
from dataclasses import dataclass

_RESULT = re.compile(r"\b(dmarc|spf|dkim)\s*=\s*([a-z]+)\b([^;]*)", re.I)
_HEADER_FROM = re.compile(r"\bheader\.from\s*=\s*\"?([^\s;\"]+)", re.I)
_COMMENT = re.compile(r"\([^()]*\)")


@dataclass(frozen=True)
class Verdict:
    failed: bool  # a server (any server) says DMARC failed, or SPF and DKIM both failed
    dmarc_domain: str | None  # the From domain a trusted server says passed DMARC


def _authserv_id(header: str) -> str:
    return _COMMENT.sub("", header).split(";", 1)[0].strip().split()[0].lower() if header.strip() else ""


def _results(header: str) -> list[tuple[str, str, str]]:
    body = _COMMENT.sub("", header).split(";", 1)[1] if ";" in header else ""
    return [(method.lower(), result.lower(), props) for method, result, props in _RESULT.findall(body)]


def verdict(headers, trusted_ids) -> Verdict:
    """The verdict on a message from its Authentication-Results ``headers`` (top first)."""
    failed = False
    for header in headers:
        results = _results(header)
        outcome = {method: result for method, result, _props in reversed(results)}
        if outcome.get("dmarc") == "fail" or (outcome.get("spf") in ("fail", "softfail")
                                              and outcome.get("dkim") == "fail"):
            failed = True
    trusted = {t.lower() for t in trusted_ids or ()}
    domain = None
    for header in headers:
        if _authserv_id(header) in trusted:
            # The topmost header of our own server is the one it wrote for this delivery.
            for method, result, props in _results(header):
                if method == "dmarc" and result == "pass" and (match := _HEADER_FROM.search(props)):
                    domain = match.group(1).lower().rstrip(".")
                    break
            break
    return Verdict(failed, domain)


def sender_verified(mail, trusted_ids) -> bool:
    """True when ``mail`` has one unambiguous From address whose domain a trusted server says passed DMARC."""
    if mail.sender_ambiguous or not mail.from_addr:
        return False
    found = verdict(mail.header_all("Authentication-Results"), trusted_ids)
    return not found.failed and found.dmarc_domain is not None \
        and mail.from_addr.rpartition("@")[2] == found.dmarc_domain


def sender_trusted(mail, trusted_ids) -> bool:
    """True when ``mail`` may add to a ticket its sender is on: one unambiguous From address, nothing says
    authentication failed, and a trusted server's DMARC pass (if any) is for that address's domain."""
    if mail.sender_ambiguous or not mail.from_addr:
        return False
    found = verdict(mail.header_all("Authentication-Results"), trusted_ids)
    if found.failed:
        return False
    return found.dmarc_domain is None or mail.from_addr.rpartition("@")[2] == found.dmarc_domain
