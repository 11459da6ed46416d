"""The WHOIS availability checker (RFC 3912: the name and CRLF over TCP port 43, the answer until the server
closes), for TLDs whose RDAP has no server or fails. Each TLD's server and the pattern its "no match" answer
carries come from DOMAINS_WHOIS_SERVERS; DOMAINS_CHECK_TIMEOUT bounds connecting and each read."""
import re
import socket

from flask import current_app

from helpdesk.domains.checks import CheckFailed, NoServer

NAME = "whois"
ANSWER_MAX = 64 * 1024


def query(host: str, port: int, domain: str, timeout: float) -> str:
    """The WHOIS server's whole answer about ``domain``, as text."""
    chunks, size = [], 0
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(domain.encode("ascii") + b"\r\n")
            while size < ANSWER_MAX:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except OSError as exc:  # refused, unreachable, timed out
        raise CheckFailed(f"whois: {type(exc).__name__} from {host}:{port}") from None
    return b"".join(chunks).decode("utf-8", errors="replace")


class WhoisChecker:
    name = NAME

    def is_registered(self, domain: str, tld: str) -> bool:
        server = current_app.config["DOMAINS_WHOIS_SERVERS"].get(tld)
        if not server or not server.get("host"):
            raise NoServer(tld)
        answer = query(server["host"], int(server.get("port", 43)), domain,
                       current_app.config["DOMAINS_CHECK_TIMEOUT"])
        if not answer.strip():
            raise CheckFailed(f"whois: an empty answer from {server['host']}")
        if re.search(server.get("no_match") or r"no match|not found|no entries found", answer, re.I):
            return False
        return True
