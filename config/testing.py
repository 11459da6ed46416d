"""Settings for the test suite: fast hashing off, CSRF on (tests fetch tokens like a browser does)."""

ENV = "testing"
SECRET_KEY = "testing-secret-key-not-for-production"
TESTING = True
MAIL_DEFAULT_FROM = "helpdesk@example.test"
MAIL_MESSAGE_ID_DOMAIN = "helpdesk.example.test"
BASE_URL = "http://helpdesk.example.test"
OUTBOX_MAX_BACKOFF = 1
RATELIMIT_STORAGE_URI = "memory://"
JOBS_INPROCESS = "sync"
# Mail is parsed in the gateway's own process unless a test asks for a parser process.
MAIL_PARSE_PROCESSES = 0
# The receiving server of the mail in tests/data/mail.
MAIL_AUTHSERV_IDS = ["mx.example.test"]

# Tests read the sidebar right after changing tickets.
QUEUE_COUNTS_CACHE_SECONDS = 0
