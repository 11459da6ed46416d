"""Settings for the test suite: CSRF on (tests fetch tokens like a browser does), cheap password hashing."""

ENV = "testing"
SECRET_KEY = "testing-secret-key-not-for-production"
TESTING = True
# scrypt with a small work factor: the suite checks what a password does, not how hard it is to crack,
# and Werkzeug's default costs a sixth of a second per hash (hundreds of users and logins per run).
PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
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
# Tests walk every route; the API's rate-limit tests set their own limits.
API_RATE_LIMIT = "100000/minute"
API_RATE_LIMIT_ANONYMOUS = "100000/minute"
# The search index's recent tier is a second index written beside the full one at every ticket change: the tests of
# the tier (test_search's ``tiered``) turn it on; elsewhere it doubled the cost of every indexed change.
SEARCH_RECENT_DAYS = 0
