"""The seam for domain registrars: the ``Registrar`` interface an adapter implements (helpdesk.providers
.registrar_rest is the first), the registry of adapters by name, and DOMAINS_REGISTRAR choosing the one staff send
requests to ("" for none: staff register by hand at the registrar and mark requests done)."""
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from flask import current_app


class RegistrarError(Exception):
    """The registrar refused or could not be reached. ``message`` is shown to staff and must carry no secret."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True)
class RegistrarOrder:
    """What a registrar gets: ``key`` is ours for the operation (the same key twice is one registration),
    ``auth_code`` is empty for a registration."""

    key: str
    domain: str
    auth_code: str = ""
    years: int = 1
    registrant: dict = field(default_factory=dict)  # name, organisation, email, phone, address, country
    nameservers: tuple = ()


@runtime_checkable
class Registrar(Protocol):
    name: str

    def register(self, order: RegistrarOrder) -> str:
        """Register ``order.domain``; the registrar's reference. RegistrarError when refused or unreachable."""

    def transfer(self, order: RegistrarOrder) -> str:
        """Start the transfer of ``order.domain`` with its auth code; the registrar's reference."""


_REGISTRARS: dict[str, Registrar] = {}


def register_registrar(registrar: Registrar) -> None:
    _REGISTRARS[registrar.name] = registrar


def current_registrar() -> Registrar | None:
    """The adapter DOMAINS_REGISTRAR names, None when none is configured."""
    return _REGISTRARS.get(current_app.config["DOMAINS_REGISTRAR"] or "")
