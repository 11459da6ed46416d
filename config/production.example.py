"""An example production configuration. Copy it, fill it in, and point HELPDESK_CONFIG at the copy
(or set the same names as HELPDESK_* environment variables instead)."""

ENV = "production"
# Generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"
SECRET_KEY = "replace-me"
INSTANCE_PATH = "/var/lib/helpdesk"
DATABASE_URL = "postgresql+psycopg://helpdesk@127.0.0.1:5432/helpdesk"
REDIS_URL = "redis://127.0.0.1:6379/0"
RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/1"
# Attachments, raw mail and identity documents in an S3-compatible bucket, so every machine reads the same files
# (`helpdesk storage migrate --to s3` copies an existing desk's files there first).
STORAGE_BACKEND = "s3"
S3_BUCKET = "helpdesk"
S3_ENDPOINT_URL = "https://s3.example.com"  # empty for AWS
S3_REGION = "eu-central-1"
S3_ACCESS_KEY_ID = "…"
S3_SECRET_ACCESS_KEY = "…"
S3_ADDRESSING_STYLE = "path"
SMTP_HOST = "smtp.example.com"
SMTP_PORT = 587
SMTP_SECURITY = "starttls"
SMTP_USER = "helpdesk@example.com"
SMTP_PASSWORD = "…"
MAIL_DEFAULT_FROM = "support@example.com"
MAIL_MESSAGE_ID_DOMAIN = "helpdesk.example.com"
BASE_URL = "https://support.example.com"
SESSION_COOKIE_SECURE = True
# Behind one reverse proxy (TLS, load balancer): trust its X-Forwarded-For and -Proto, so logins, rate limits and
# installation confirmations see the client's address, not the proxy's.
TRUSTED_PROXIES = 1
# Secrets of the credential vault: {"key id": "base64 of 32 random bytes"}, the current key first.
# VAULT_KEYS = {"2026-12": "…"}
# Phone numbers typed without a country code are read in this country (e.g. "IR" for a seller in Iran).
# PHONE_REGION = "IR"
# Texts (debt warnings, reminders, transfer codes, announcements) and the device seller's CRM, when used:
# SMS_PROVIDER = "kavenegar"
# KAVENEGAR_API_KEY = "…"
# CRM_PROVIDER = "didar"
# DIDAR_API_KEY = "…"
# Device buyers' accounts created by staff only:
# SELF_REGISTRATION = False
# The REST API's limits per personal token and per address without one (counted in Redis, RATELIMIT_STORAGE_URI):
# API_RATE_LIMIT = "600/minute"
# API_RATE_LIMIT_ANONYMOUS = "60/minute"
# Webhook receivers on your own network (SSRF protection off for every endpoint; an admin can allow one instead):
# WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
# Search in PostgreSQL (full-text search, shared by every machine) instead of Whoosh's folders on one disk:
SEARCH_BACKEND = "postgresql"
# Count at most 1,000 matches of a search (a common word among a million tickets: 10 ms instead of 0.4 s):
SEARCH_COUNT_LIMIT = 1000
