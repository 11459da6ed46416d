"""An example production configuration. Copy it, fill it in, and point HELPDESK_CONFIG at the copy
(or set the same names as HELPDESK_* environment variables instead)."""

ENV = "production"
# Generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"
SECRET_KEY = "replace-me"
INSTANCE_PATH = "/var/lib/helpdesk"
DATABASE_URL = "postgresql+psycopg://helpdesk@127.0.0.1:5432/helpdesk"
REDIS_URL = "redis://127.0.0.1:6379/0"
RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/1"
SMTP_HOST = "smtp.example.com"
SMTP_PORT = 587
SMTP_SECURITY = "starttls"
SMTP_USER = "helpdesk@example.com"
SMTP_PASSWORD = "…"
MAIL_DEFAULT_FROM = "support@example.com"
MAIL_MESSAGE_ID_DOMAIN = "helpdesk.example.com"
BASE_URL = "https://support.example.com"
SESSION_COOKIE_SECURE = True
