"""The credential vault (issue 18): per customer account, the access data of its services (service, address,
user name, password, notes), sealed at rest with AES-GCM under keys from configuration; each reveal of a secret is
audited. Modules: crypto (sealing, no app needed), keys (the keyring from VAULT_KEYS), models, service (the
operations and their rules), rotation (`helpdesk vault rotate-key`), audit_sentences (the trail in words)."""

MODELS = ("models",)


def init_app(app):
    """Give the audit trail the vault's sentences; say in the log when the vault's keys cannot be used."""
    from helpdesk.vault import audit_sentences, keys  # noqa: F401

    keys.check_configuration(app)
