"""Every helpdesk setting with its default. Override any of them with an environment
variable named HELPDESK_<SETTING> (e.g. HELPDESK_DATABASE_URL) or a file named by
HELPDESK_CONFIG. Values from the environment are parsed as JSON when they look like it
(numbers, true/false, lists), otherwise taken as strings."""

# "development" (the embedded default) or "production"; production refuses the default secret key.
ENV = "development"
# Signs sessions, CSRF tokens and ticket reply tokens. Must be changed in production.
SECRET_KEY = "dev-insecure-change-me"
# Folder for the embedded database, attachments, the search index and file-delivered mail.
# Empty means ./instance of the working directory.
INSTANCE_PATH = ""
# SQLAlchemy database URL; empty means SQLite at <INSTANCE_PATH>/helpdesk.db.
DATABASE_URL = ""
# Redis URL for background jobs (rq); empty runs jobs in-process right after each commit.
REDIS_URL = ""
# Without Redis: "after_response" runs a web request's jobs once its response is sent (elsewhere
# right after the commit); "sync" always right after the commit (deterministic, for tests).
JOBS_INPROCESS = "after_response"
# A job handed to a queue this many seconds ago and still not done is handed over again by the sweep
# (its process died); jobs are idempotent, so a slow one run twice does no harm.
JOBS_REDISPATCH_SECONDS = 600
# Sync raw mail and attachments to disk (file and folder) before the database row that refers to them is
# committed; off only for throwaway setups (it costs a disk flush per stored file).
STORAGE_FSYNC = True
# Where attachments, raw mail and identity documents are kept: "local" (folders under INSTANCE_PATH,
# ATTACHMENTS_PATH) or "s3" (an S3-compatible bucket, shared by every process on every machine). Moving an
# existing desk: `helpdesk storage migrate --to s3`, then switch this setting.
STORAGE_BACKEND = "local"
# The bucket for STORAGE_BACKEND "s3" (it must exist), and the key prefix inside it (e.g. "helpdesk/").
S3_BUCKET = ""
S3_PREFIX = ""
# The S3 endpoint: empty for AWS; the URL of MinIO, Ceph RGW, Garage, R2 or another S3-compatible server.
S3_ENDPOINT_URL = ""
S3_REGION = ""
# Empty: boto3's own credentials (AWS_* environment variables, an instance role). Keep the secret out of files
# others can read: an environment variable (HELPDESK_S3_SECRET_ACCESS_KEY) or a file named by HELPDESK_CONFIG.
S3_ACCESS_KEY_ID = ""
S3_SECRET_ACCESS_KEY = ""
# "path" for most self-hosted servers (MinIO, Ceph), "virtual" or "auto" (boto3 decides) for AWS.
S3_ADDRESSING_STYLE = "auto"
# How passwords are hashed (Werkzeug's method string): scrypt with Werkzeug's work factor. Stored hashes
# name their method, so changing this applies to new and changed passwords only.
PASSWORD_HASH_METHOD = "scrypt"
# Prefix of the rq queue names, so several installations can share one Redis.
QUEUE_PREFIX = "helpdesk"
# Seconds between outbox sweeps that re-enqueue mail whose job was lost or is due for a retry.
OUTBOX_SWEEP_INTERVAL = 30
# Seconds between runs of the SLA breach check (with the outbox sweep: `helpdesk serve` without Redis, workers).
SLA_BREACH_CHECK_INTERVAL = 60
# Whether `helpdesk serve` runs the scheduler of periodic jobs (the daily billing run) in a thread; production runs
# a `helpdesk scheduler` process instead. Each period runs once however many schedulers run (helpdesk/scheduler.py).
SCHEDULER_ENABLED = True
# Seconds between the scheduler's looks at what is due.
SCHEDULER_TICK_SECONDS = 30
# After an outage a daily job runs each missed day, oldest first, but at most this many of the latest days.
SCHEDULER_CATCH_UP_DAYS = 7
# Local time (HH:MM, in BUSINESS_TIMEZONE) of the daily billing run (renewals, reminders, suspensions);
# empty switches it off.
BILLING_DAILY_RUN_AT = "03:00"
# Minutes before a due time from which the queue lists a ticket as "SLA at risk".
SLA_AT_RISK_MINUTES = 30
# Seconds a process reuses an agent's queue sidebar counts (0: count on every page). On a desk with a
# million tickets the counts cost more than the rest of the page; an agent's own bulk action clears them.
QUEUE_COUNTS_CACHE_SECONDS = 5
# Tune Python's garbage collector when the app is built (helpdesk.tune_gc): fewer, cheaper collections in
# long-running processes. Off in tests.
GC_TUNING = True
# The search backend tickets and knowledge base articles are indexed in (helpdesk.search.backend lists
# them): "whoosh", index folders on this machine's disk (SEARCH_INDEX_PATH, KB_INDEX_PATH), written by the
# one worker of the `search` queue; or "postgresql", the search_documents table of the PostgreSQL database
# (migration 0042): any number of processes on any machine index and search it, the `search` queue may have
# several workers. Refused at start-up on SQLite.
SEARCH_BACKEND = "whoosh"
# Ticket search ranks by relevance; when more tickets match than this (a common word on a big desk), it
# ranks the most recently active this many of them and says so on the page (add words or filters to
# reach older ones). Scoring every match of a word in 300,000 tickets takes seconds.
SEARCH_RANKED_WINDOW = 500
# A second, small search index holds the tickets active in the last this many days (0: none). Words in
# more tickets than SEARCH_FULL_INDEX_POSTINGS (counted from the index's term dictionary) are searched
# there when it finds a page of results: reading a third of a million postings takes seconds, and the
# page says which tickets were searched.
SEARCH_RECENT_DAYS = 30
SEARCH_FULL_INDEX_POSTINGS = 20000
# PostgreSQL search backend only: count at most this many matches of a search (0: count them all). An exact
# count reads every matching row: ~0.4 s for a word in a fifth of a million tickets. Above the limit the page
# says this many tickets were found.
SEARCH_COUNT_LIMIT = 0
# Time zone of the business hours and holidays that business-time SLA targets count in.
BUSINESS_TIMEZONE = "UTC"
# Seconds a delivery may stay claimed ("sending") before a sweep assumes its worker died.
OUTBOX_CLAIM_TIMEOUT = 600
# Upper bound, in seconds, of the exponential back-off between delivery attempts.
OUTBOX_MAX_BACKOFF = 3600
# SMTP server for outgoing mail; empty writes each message as an .eml file under <INSTANCE_PATH>/outgoing-mail.
SMTP_HOST = ""
# SMTP port.
SMTP_PORT = 25
# "starttls", "ssl" or "" (plain, for a local relay).
SMTP_SECURITY = ""
# SMTP login user; empty sends without authentication.
SMTP_USER = ""
# SMTP password.
SMTP_PASSWORD = ""
# Seconds before an SMTP connection attempt or command gives up.
SMTP_TIMEOUT = 20
# Whether the SMTP server accepts addresses with non-ASCII characters before the @ (SMTPUTF8, RFC 6531). When
# False such addresses are refused where they are typed (forms, CC, registration, CLI); domains are always fine
# (sent in their ASCII xn-- form).
SMTP_SMTPUTF8 = False
# Envelope sender and From of mail that no department sends.
MAIL_DEFAULT_FROM = "helpdesk@localhost"
# Domain used on the right of generated Message-IDs.
MAIL_MESSAGE_ID_DOMAIN = "helpdesk.localhost"
# Whether the inbound mailbox accepts plus-addressing (support+1042.k3x9@…) for reply tokens.
MAIL_PLUS_ADDRESSING = True
# Name of the product shown in pages and mail.
BRAND_NAME = "Helpdesk"
# Absolute URL of the web app, used in links inside emails.
BASE_URL = "http://127.0.0.1:5000"
# Language used when neither the user, a cookie nor the browser chooses one.
DEFAULT_LOCALE = "en"
# Time zone used when the user has not chosen one.
DEFAULT_TIMEZONE = "UTC"
# First number handed to a new ticket.
TICKET_NUMBER_START = 1000
# Largest message body accepted through any door, in characters.
MAX_MESSAGE_CHARS = 1_000_000
# Largest single attachment accepted, in bytes.
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# Largest HTTP request body, in bytes (uploads included).
MAX_CONTENT_LENGTH = 50 * 1024 * 1024
# Minimum length of a password.
PASSWORD_MIN_LENGTH = 10
# Lifetime of the login session cookie when "remember me" is ticked, in days; no session lasts longer.
REMEMBER_COOKIE_DAYS = 30
# Send the session and remember-me cookies only over HTTPS; None: yes when ENV is "production".
SESSION_COOKIE_SECURE = None
# Storage URI for rate-limit counters: "memory://" for one process, a redis:// URL for several. Empty: REDIS_URL
# when it is set (every web process counts together), else "memory://".
RATELIMIT_STORAGE_URI = ""
# Log level of the helpdesk's own loggers.
LOG_LEVEL = "INFO"
# "text" (readable lines with key=value details) or "json" (one object per line, for log collectors).
LOG_FORMAT = "text"

# --- Inbound mail (the mail gateway)
# Mailboxes to read. Each is a dict: {"name": "support", "type": "imap", "host": ..., "port": 993,
# "security": "ssl" | "starttls" | "none", "user": ..., "password": ... or "password_file": ... or
# "oauth2_token_file": ... (XOAUTH2 with a token something else keeps fresh) or "auth": "oauth2",
# "oauth_provider": "<a name in MAIL_OAUTH_PROVIDERS>" (connected by an admin in the console), "folder": "INBOX",
# "processed_folder": "" (move processed mail there; empty flags it \Seen), "department": "Technical",
# "address": "support@example.com"} or {"name": "drop", "type": "maildir", "path": "/var/mail/drop"}.
# Empty means one Maildir drop folder at <INSTANCE_PATH>/maildrop (drop .eml files into its new/).
MAIL_MAILBOXES = []
# Other addresses that belong to the helpdesk (never answered, never made CC participants).
MAIL_HELPDESK_ADDRESSES = []
# Senders never turned into tickets: full addresses or "@domain".
MAIL_BLOCKED_SENDERS = []
# Messages per sender and hour after which no automatic answers are sent (loop protection).
MAIL_SENDER_SOFT_LIMIT = 20
# Messages per sender and hour after which mail is kept but no longer added to tickets.
MAIL_SENDER_HARD_LIMIT = 100
# A message threaded to a ticket from someone not on it: "new_ticket" (a new ticket linked to the
# first) or "quarantine" (waits for an agent).
MAIL_STRANGER_POLICY = "new_ticket"
# The authserv-ids (the first word of an Authentication-Results header, e.g. "mx.example.com") of the
# receiving mail servers whose verdicts are believed. Only their headers count as proof (a DMARC pass
# lets an agent reply by mail from any client); headers anyone else wrote count only against a message.
# Empty: no DMARC pass is believed, and agents reply by mail through the reply address they were sent.
MAIL_AUTHSERV_IDS = []
# A reply to a ticket closed longer than this many days opens a new linked ticket; 0 always reopens.
MAIL_CLOSED_NEW_TICKET_AFTER_DAYS = 0
# Messages fetched and stored per commit.
MAIL_BATCH_SIZE = 100
# Write a batch's tickets in one flush at its end (several times faster). A batch in which any message
# fails is redone with a savepoint per message, so the failure is quarantined alone either way.
MAIL_DEFERRED_WRITES = True
# Processes that parse (and sanitise) mail beside the gateway, so the next batch is parsed while the
# current one is written: "auto" is one on a machine with more than one core, else none (0).
MAIL_PARSE_PROCESSES = "auto"
# The msgconvert program (Debian's libemail-outlook-message-perl) that turns Outlook .msg files into
# mail, whether they arrive on their own or attached: a name looked up on PATH, or a full path.
MAIL_MSGCONVERT = "msgconvert"
# Seconds between polls of an IMAP server without IDLE.
MAIL_POLL_INTERVAL = 30
# Seconds between scans of a Maildir folder (a directory listing: cheap).
MAIL_MAILDIR_POLL_INTERVAL = 2
# Seconds an IMAP IDLE lasts before it is renewed with a fresh search. Servers can miss telling an
# idling client about mail that arrived while it started idling (Dovecot then waits for its next
# periodic check, 30 s by default); renewing bounds that delay. A renewal costs three short commands.
MAIL_IDLE_TIMEOUT = 10
# Seconds to wait before reconnecting after an IMAP error; doubles up to MAIL_RECONNECT_MAX.
MAIL_RECONNECT_MIN = 2
# Upper bound of the reconnect back-off, in seconds.
MAIL_RECONNECT_MAX = 300
# OAuth 2 providers that IMAP mailboxes sign in with (Microsoft 365 and Gmail take no passwords), by name.
# Each is a dict with "client_id" and "client_secret" (or "client_secret_file") of the app registered with
# the provider, whose redirect URI is <BASE_URL>/agent/admin/mailboxes/oauth/callback, and a "type":
# "microsoft" (Entra ID v2 endpoints; "tenant": "common" by default, or the tenant's id or domain),
# "google", or "generic" with "authorize_url", "token_url" and "scopes" (space-separated). Any type takes
# "scopes" (replacing its own) and "authorize_params" (a dict added to the authorization URL). Example:
# {"office": {"type": "microsoft", "tenant": "contoso.onmicrosoft.com", "client_id": "…", "client_secret": "…"}}
MAIL_OAUTH_PROVIDERS = {}
# Seconds before an access token expires at which the gateway gets a new one (and starts a new IMAP
# session: a session cannot sign in again, and Microsoft closes it when its token expires).
MAIL_OAUTH_REFRESH_MARGIN = 60
# Seconds between checks of a mailbox whose grant was revoked or that was never connected (the gateway
# notices a connection made in the console within a few seconds either way).
MAIL_OAUTH_RECHECK_INTERVAL = 900
# Seconds before a request to a provider's token endpoint gives up.
MAIL_OAUTH_TIMEOUT = 20
# Key that encrypts the mailboxes' OAuth tokens in the database: a Fernet key (44 characters of url-safe
# base64; make one with `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
# Empty: a key derived from SECRET_KEY (HKDF-SHA256), so changing SECRET_KEY means connecting the mailboxes again.
SECRET_ENCRYPTION_KEY = ""

# --- Customer accounts (registration, activation, password reset, login throttling)
# Version of the privacy policy shown at /privacy; stored with each customer's consent.
PRIVACY_POLICY_VERSION = "2026-11"
# Hours an account activation link stays valid.
ACTIVATION_TOKEN_HOURS = 72
# Hours a link inviting someone to a customer account stays valid (issue 18).
ACCOUNT_INVITATION_HOURS = 72
# Minutes a password reset link stays valid.
RESET_TOKEN_MINUTES = 60
# Failed passwords from one IP address on one login after which that address must wait before each try.
LOGIN_THROTTLE_AFTER_FAILURES = 5
# Seconds that address waits after the first of those failures; each further failure doubles the wait.
LOGIN_THROTTLE_FIRST_DELAY_SECONDS = 1
# Upper bound, in seconds, of that wait.
LOGIN_THROTTLE_MAX_DELAY_SECONDS = 300
# Minutes without a failure after which an address's failures on a login are forgotten (and the owner,
# told by mail when throttling began, would be told again).
LOGIN_FAILURE_WINDOW_MINUTES = 15
# Per-address limit on submitting the login, register and forgot-password forms (Flask-Limiter syntax).
ACCOUNT_FORM_RATE_LIMIT = "10 per minute"

# --- Identity verification of individual accounts (issue 18)
# "off"; "staff": staff ask an individual account to verify its identity (from the console), and its orders wait on
# billing's manual hold until they approve; "before_first_order": besides, every individual account is asked when
# it places its first order, which waits likewise. Approval releases the held orders; a rejection keeps them held.
IDENTITY_VERIFICATION = "off"
# The department whose queue the verification tickets go to (made on first use when no department has this name).
IDENTITY_VERIFICATION_DEPARTMENT = "Identity verification"
# Largest ID document (a JPEG or PNG image or a PDF, recognised by its content) a customer may upload, in bytes.
IDENTITY_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
# Days after the decision (approved or rejected) when a document's file is deleted; its record stays.
IDENTITY_DOCUMENT_RETENTION_DAYS = 30
# Local time (HH:MM, in BUSINESS_TIMEZONE) of the daily job that deletes documents past that; it runs whatever
# IDENTITY_VERIFICATION says (documents uploaded before verification was switched off are deleted all the same).
# Empty switches the job off.
IDENTITY_DOCUMENT_RETENTION_RUN_AT = "04:30"

# Social login (issue 18): the providers offered on the login and registration pages, by name, in this order.
# Each is a dict with the "client_id" and "client_secret" of the app registered with the provider, whose redirect
# URI is <BASE_URL>/login/<name>/callback, and an optional "label" (the button's words). The name "google" is
# OpenID Connect at https://accounts.google.com; "facebook" is Facebook Login (optional "authorize_url" and
# "graph_url"); any other name is an OpenID Connect provider with its "issuer" (optional "scope", "discovery_url").
# Secrets are never logged. Example:
# {"google": {"client_id": "…", "client_secret": "…"}, "facebook": {"client_id": "…", "client_secret": "…"},
#  "keycloak": {"issuer": "https://id.example.com/realms/staff", "label": "Example ID", "client_id": "…", …}}
OPENID_PROVIDERS = {}
# Seconds a provider may take to answer before logging in with it gives up (the person may try again).
OPENID_TIMEOUT = 10
# Minutes between leaving for the provider and coming back (and, for a new person, agreeing to the privacy policy).
OPENID_LOGIN_MINUTES = 15

# --- Customer portal: tickets
# File name extensions the portal's ticket forms refuse as attachments (programs and scripts that
# would run when opened). Windows and Linux executables are refused by their content whatever their name.
PORTAL_BLOCKED_EXTENSIONS = [
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "dll", "cpl", "js", "jse", "vbs", "vbe",
    "wsf", "wsh", "hta", "ps1", "psm1", "jar", "lnk", "reg", "sh", "app", "apk",
]

# --- Satisfaction ratings
# Days the good/bad rating links in the closing mail keep working.
SATISFACTION_LINK_DAYS = 30

# --- Web-form tickets in a registered user's name
# Days the "yes, I sent this" link in the acknowledgement keeps working: a guest ticket given the address of a
# registered customer or agent stays out of their ticket list until the address owner confirms it.
REQUESTER_CONFIRM_LINK_DAYS = 14

# --- Links to the ticket in its mail
# Days a guest link works: requesters and copied people without an account read and answer their ticket through
# a signed link in each mail about it, without logging in. Every mail carries a fresh link; staff can revoke all
# links of a ticket from its console page. (Registered customers get a link to the ticket in their account.)
GUEST_LINK_DAYS = 30
# Guest link pages: how often one address may open them, post a reply, or ask for a new link by mail.
GUEST_LINK_RATE_LIMIT = "60 per minute"
GUEST_REPLY_RATE_LIMIT = "10 per minute;60 per hour"
GUEST_NEW_LINK_RATE_LIMIT = "3 per hour"

# --- Knowledge base
# Folder of the knowledge base's search index; empty means <INSTANCE_PATH>/kb-index.
KB_INDEX_PATH = ""
# Hosts whose video players articles may embed (https only); the article page allows frames from these alone.
KB_VIDEO_HOSTS = ["www.youtube-nocookie.com", "player.vimeo.com"]
# Types of video file editors may upload to an article (served with this type, never sniffed).
KB_VIDEO_TYPES = ["video/mp4", "video/webm", "video/ogg"]
# Largest video file an editor may upload to an article, in bytes.
KB_VIDEO_MAX_BYTES = 200 * 1024 * 1024
# Days the anonymous reader cookie (one "was this helpful?" vote per browser) lasts.
KB_READER_COOKIE_DAYS = 730
# Per-address limit on "was this helpful?" votes and feedback together, across all articles (Flask-Limiter
# syntax): a reader answers a few articles a minute; a script filling the feedback inbox is stopped.
KB_FEEDBACK_RATE_LIMIT = "10 per minute;100 per hour"

# --- Agent workspace: who else is looking
# Seconds between the workspace page's "I am still here" heartbeats.
PRESENCE_HEARTBEAT_SECONDS = 15
# Seconds after an agent's last heartbeat when they no longer count as looking at a ticket.
PRESENCE_TIMEOUT_SECONDS = 45

# --- Billing (issue 16)
# The currency a new billing account starts with (EUR, TRY, HUF or IRR), and the country assumed until the customer
# gives theirs (ISO 3166 code; "" for unknown, which the tax rules for any country cover).
BILLING_DEFAULT_CURRENCY = "EUR"
BILLING_DEFAULT_COUNTRY = ""
# The seller printed on every invoice, frozen into each invoice when it is made. "country" decides reverse
# charge (an EU seller, an EU business buyer of another country with a VAT number).
BILLING_SELLER = {"name": "Example Hosting", "address": "", "country": "", "vat_number": "", "tax_office": "",
                  "registration": "", "email": "", "phone": "", "website": ""}
# Final invoice numbers per series: {year} and {sequence} are filled in. With the yearly reset the sequence starts
# at 1 each year (the year the invoice is finalised, in BUSINESS_TIMEZONE); without it, it runs on for ever (a
# counter of its own: give it a format without {year}). A number is never given twice: the database refuses it.
BILLING_NUMBER_FORMATS = {"invoice": "{year}-{sequence:06d}", "credit_note": "CN-{year}-{sequence:06d}"}
BILLING_NUMBER_YEARLY_RESET = True
# Days a proforma invoice gives the customer to pay (its due date).
BILLING_PAYMENT_TERM_DAYS = 7
# The bank account shown for a transfer, per currency:
# {"EUR": {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "bank": "Commerzbank", "holder": "..."}}.
# A currency without one offers no bank transfer.
BILLING_BANK_ACCOUNTS = {}
# How soon transfers are booked, in the invoice page's words per language ({"hu": "4–8 órán belül", ...});
# a language without one gets the generic sentence.
BILLING_TRANSFER_BOOKING_TIME = {}
# Transfers booked above these amounts (minor units, per currency) count only once a second staff member approves.
BILLING_TRANSFER_APPROVAL_ABOVE = {"EUR": 100_000, "TRY": 3_000_000, "HUF": 400_000, "IRR": 500_000_000}
# Payment gateways offered at checkout, by name, in this order (each adapter registers under its name).
BILLING_GATEWAYS = []
# Seconds a payment provider's API may take to answer before the call gives up (the customer may try again).
BILLING_GATEWAY_TIMEOUT = 20
# Seconds between reconciliation runs (with the outbox sweep: `helpdesk serve` without Redis, workers), which book
# payments a provider took but we never confirmed (Zarinpal's unverified list); `helpdesk billing reconcile` too.
BILLING_RECONCILE_INTERVAL = 300
# Per-address limit of payment webhook deliveries (Flask-Limiter syntax): Stripe sends a few per payment from a
# handful of addresses, and retries later when refused.
BILLING_WEBHOOK_RATE_LIMIT = "600 per minute"
# Per-address limit of the returns from a payment page that ask the provider about a payment (Zarinpal's callback).
BILLING_CALLBACK_RATE_LIMIT = "30 per minute"
# Renewals and dunning (issue 17; `helpdesk billing run`, the scheduler's daily billing job). Days before a service's
# next due date its renewal invoice is made (a product may set its own), due on that date; it is paid from the
# credit balance at once when that covers it (unless the account turned auto-pay off).
BILLING_RENEWAL_LEAD_DAYS = 14
# The reminders about an unpaid renewal invoice: "before" counts days before the due date, the others days after it
# (0: on the due date). A kind set to None is not sent. The invoice itself is mailed when it is made.
BILLING_REMINDER_DAYS = {"before": 7, "due": 0, "overdue_1": 3, "overdue_2": 7, "overdue_3": 14}
# A late fee per currency (minor units; none for a currency left out, {} for none at all), charged once per overdue
# invoice as an invoice of its own, this many days after the due date.
BILLING_LATE_FEES = {}
BILLING_LATE_FEE_AFTER_DAYS = 7
# Days after the due date an unpaid renewal invoice suspends its service (until it is paid), and after which the
# invoice is cancelled and the service terminated (None: never).
BILLING_SUSPEND_AFTER_DAYS = 15
BILLING_TERMINATE_AFTER_DAYS = 45
# The From address of billing mail (invoices, reminders); "" for MAIL_DEFAULT_FROM.
BILLING_MAIL_FROM = ""
# Stripe (BILLING_GATEWAYS "stripe"; EUR, TRY and HUF): the secret API key (sk_live_… or sk_test_…) and the signing
# secret (whsec_…) of the webhook endpoint that points at <BASE_URL>/billing/webhooks/stripe with the events
# checkout.session.completed, checkout.session.async_payment_succeeded, checkout.session.async_payment_failed,
# checkout.session.expired and payment_intent.succeeded. Neither is ever logged.
STRIPE_SECRET_KEY = ""
STRIPE_WEBHOOK_SECRET = ""
# Stripe's API address, and how many seconds a webhook's signed time may be off ours (a replay of an old delivery
# is refused; Stripe's own libraries allow 300).
STRIPE_API_BASE = "https://api.stripe.com"
STRIPE_WEBHOOK_TOLERANCE = 300
# Zarinpal (BILLING_GATEWAYS "zarinpal"; IRR): the 36-character merchant id (never logged) and the API address
# (https://sandbox.zarinpal.com for Zarinpal's sandbox).
ZARINPAL_MERCHANT_ID = ""
ZARINPAL_API_BASE = "https://payment.zarinpal.com"
# The TrueType fonts invoice PDFs are drawn with (regular and bold). They must hold every language's letters,
# Persian's presentation forms included: DejaVu Sans (Debian's fonts-dejavu-core) does. A missing file falls back
# to DejaVu's usual place, then to a built-in font that draws Latin letters only.
BILLING_PDF_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BILLING_PDF_FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

# --------------------------------------------------------------------------- service-status notices
# Hours before a planned maintenance starts from which affected customers see its banner in the portal (incidents
# show from their start).
STATUS_MAINTENANCE_NOTICE_HOURS = 24
# Days the public status page (/status) keeps listing a resolved notice.
STATUS_PAGE_HISTORY_DAYS = 90

# --------------------------------------------------------------------------- credential vault (issue 18)
# The keys that seal the vault's user names, passwords and notes (AES-256-GCM): key id → base64 of 32 random
# bytes, the first the current key (new values are sealed with it; the others still open the values that name
# them). Make one with `python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"`. Rotate:
# put a new key first, run `helpdesk vault rotate-key`, then remove the old one. Keys are never stored in the
# database. Production must set this (e.g. HELPDESK_VAULT_KEYS='{"2026-12": "…"}'): without it the vault is
# unavailable there. Empty elsewhere: a development key (id "dev") derived from SECRET_KEY with HKDF-SHA256, so
# changing SECRET_KEY makes a development vault unreadable.
VAULT_KEYS = {}

# --------------------------------------------------------------------------- domains (issue 18)
# Who is asked whether a name is taken, in order, until one knows: "rdap" then "whois" (a checker with no server
# for a TLD, or one that fails or times out, passes to the next; nobody knowing shows "unknown").
DOMAINS_CHECKERS = ["rdap", "whois"]
# Seconds to wait for an RDAP or WHOIS server (connecting, and each answer).
DOMAINS_CHECK_TIMEOUT = 5
# RDAP base URLs by TLD ({"hu": "https://rdap.example.hu/"}); a TLD not named here is looked up in IANA's bootstrap
# file (RFC 9224) at DOMAINS_RDAP_BOOTSTRAP_URL, fetched again after DOMAINS_RDAP_BOOTSTRAP_SECONDS.
DOMAINS_RDAP_SERVERS = {}
DOMAINS_RDAP_BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"
DOMAINS_RDAP_BOOTSTRAP_SECONDS = 86400
# WHOIS servers by TLD, for TLDs without RDAP (or when it fails): {"hu": {"host": "whois.nic.hu", "port": 43,
# "no_match": "No match"}} — "no_match" is a regular expression the server's answer about a free name contains.
DOMAINS_WHOIS_SERVERS = {}
# How long an answer is kept (in the database, shared by every process): available or taken, and unknown.
DOMAINS_CHECK_CACHE_SECONDS = 600
DOMAINS_CHECK_UNKNOWN_SECONDS = 30
# How often one client may use the portal's check form (Flask-Limiter syntax).
DOMAINS_CHECK_RATE_LIMIT = "10 per minute;60 per hour"
# The registrar staff may send domain requests to ("rest": helpdesk.providers.registrar_rest at
# REGISTRAR_API_BASE with the bearer key REGISTRAR_API_KEY, never logged); "" for none (staff register by hand).
DOMAINS_REGISTRAR = ""
DOMAINS_REGISTRAR_TIMEOUT = 20
REGISTRAR_API_BASE = ""
REGISTRAR_API_KEY = ""

# --------------------------------------------------------------------------- devices, SMS and CRM (issue 19)
# The country a phone number typed without "+" and a country code is read in (ISO code, e.g. "IR"); "" for none
# (numbers must then start with "+"). Numbers are stored in E.164 (helpdesk.phones).
PHONE_REGION = ""

# ---------------------------------------------------------------- part E: CRM sync and training videos (issue 19)
# The CRM that devices, contracts and cases are pushed to: "" for none (nothing is queued), "didar" for Didar
# (helpdesk.providers.didar at DIDAR_API_BASE; DIDAR_API_KEY travels in the query string and is redacted from every
# log line, exception and stored error).
CRM_PROVIDER = ""
DIDAR_API_BASE = "https://app.didar.me/api"
DIDAR_API_KEY = ""
# Seconds to wait for the CRM's answer.
CRM_TIMEOUT = 20
# Tries of one push before it is marked failed (staff can retry it from the console); the delay between tries doubles
# from CRM_RETRY_SECONDS up to CRM_MAX_BACKOFF seconds.
CRM_MAX_ATTEMPTS = 8
CRM_RETRY_SECONDS = 60
CRM_MAX_BACKOFF = 3600
# When the nightly reconcile compares our devices with the CRM's records (local time, BUSINESS_TIMEZONE; "" for never).
CRM_RECONCILE_AT = "02:30"
# The provider that issues training-video licences: "" for none (paid licences wait, staff see them), "spotplayer"
# (helpdesk.providers.spotplayer at SPOTPLAYER_API_BASE with the $API header key SPOTPLAYER_API_KEY, never logged).
VIDEO_LICENCE_PROVIDER = ""
SPOTPLAYER_API_BASE = "https://panel.spotplayer.ir"
SPOTPLAYER_API_KEY = ""
# Issue test licences (SpotPlayer's "test" flag: free, short-lived) instead of real ones, for a staging deployment.
SPOTPLAYER_TEST_LICENCES = False
# Seconds to wait for the licence provider; tries before a licence is marked failed (staff can retry).
VIDEO_LICENCE_TIMEOUT = 20
VIDEO_LICENCE_MAX_ATTEMPTS = 6

# --------------------------------------------------------------------------- part A: accounts created by staff (issue 19)
# Whether visitors may create their own customer account (the register page and its links). False for a deployment
# whose customer accounts only staff create (device buyers): /register answers 404 and no page links to it; the
# guest ticket form still works.
SELF_REGISTRATION = True
# How many days the set-your-password link mailed to a customer account staff created works (once); staff may send a
# new one, which ends the old.
SET_PASSWORD_LINK_DAYS = 7

# ---------------------------------------------------------------- part C: installation confirmations and transfers
# Whether a device with unpaid charges on its owner's account may change owner: "stays" (the old account keeps its
# unpaid case charges, the device moves) or "blocks" (staff cannot approve while the old account has unpaid ones).
DEVICES_TRANSFER_DEBT = "stays"
# How long the new owner's SMS code and confirmation link are valid (hours), and the wrong codes they may type
# before the code is void (the owner can then send a new one).
DEVICES_TRANSFER_CODE_HOURS = 24
DEVICES_TRANSFER_CODE_ATTEMPTS = 5
# How often one client may use the new owner's confirmation pages (Flask-Limiter syntax; no login is needed there).
DEVICES_TRANSFER_CONFIRM_RATE_LIMIT = "10 per minute;50 per hour"
# Longest free remarks on an installation confirmation (characters).
DEVICES_INSTALLATION_REMARKS_MAX = 2000

# ---------------------------------------------------------------- part B2: pay-per-case, running debt, ticket gating
# The running debt (unpaid case charges, in minor units) at which a pay-per-case account is warned (portal, email,
# SMS: once per crossing) and above which its new device tickets wait for staff approval: an amount for every
# currency, or a dict per currency ({"IRR": ..., "EUR": ...}; a currency not named has no ceiling).
# IRR has no minor unit: 100,000,000 rials = 10,000,000 Toman.
DEVICES_DEBT_CEILING = {"IRR": 100_000_000}
# The currency of the pay-per-case price list and its charges when the account's billing account has none yet.
DEVICES_CASE_CURRENCY = "IRR"

# ---------------------------------------------------------------- part D: the SMS channel and announcements
# Which SMS provider sends the SMS outbox: "" (none: texts are still recorded, and marked "not sent: no SMS
# provider" instead of being sent) or "kavenegar".
SMS_PROVIDER = ""
# How many tries a text gets when the provider fails temporarily (5xx, throttled, unreachable) before it is
# marked failed; the waits between tries grow from 30 s up to OUTBOX_MAX_BACKOFF.
SMS_MAX_ATTEMPTS = 6
# Every so many minutes the scheduler sends texts whose retry is due or whose job was lost (0: never).
SMS_SWEEP_MINUTES = 5
# Kavenegar (https://kavenegar.com): the API key from the panel (it travels in the URL's path; never logged), the
# sender line ("" for the account's default line), the API's base address (tests point it at a fake), and how
# long to wait for an answer (seconds).
KAVENEGAR_API_KEY = ""
KAVENEGAR_SENDER = ""
KAVENEGAR_API_BASE = "https://api.kavenegar.com"
KAVENEGAR_TIMEOUT = 15
# Announcements: how many customer accounts one job tells before it queues the next chunk.
ANNOUNCEMENTS_CHUNK = 200

# ---------------------------------------------------------------- part B1: devices, status, contracts and renewals
# A running service contract counts as "expiring" (the buyer may renew or choose) this many days before its end.
DEVICES_EXPIRING_DAYS = 30
# Contract reminders (email and SMS to the account's members with the services permission): days before the end
# (0: the day it ends), each sent once per device and contract end.
DEVICES_REMINDER_DAYS = [30, 7, 0]
# When the daily reminder job runs (local time in BUSINESS_TIMEZONE); "" switches the reminders off.
DEVICES_REMINDER_RUN_AT = "09:00"
# The currency renewals are sold in: the device type's contract product's yearly, biennial and triennial prices in
# it are the 1, 2 and 3 year renewals (IRR: paid at Zarinpal).
DEVICES_CONTRACT_CURRENCY = "IRR"

# ---------------------------------------------------------------- part C: the client address behind a proxy
# How many proxies in front of the web processes to trust for the client's address and scheme (X-Forwarded-For,
# X-Forwarded-Proto; Werkzeug's ProxyFix): 1 behind one TLS proxy. 0 reads the TCP peer (a forged header counts for
# nothing). The address is what an installation confirmation, the login throttle and the rate limits record.
TRUSTED_PROXIES = 0

# ---------------------------------------------------------------- issue 20: webhooks
# Let every webhook endpoint reach private, loopback and link-local addresses (SSRF protection off): for a desk whose
# receivers live on its own network. An admin can allow it for one endpoint instead.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
# Seconds to wait for a receiver's answer (and at most 5 of them to connect).
WEBHOOKS_TIMEOUT_SECONDS = 10
# An endpoint whose every attempt has failed for this many hours, or whose last N deliveries were given up after
# every retry (0: never for that reason), is disabled and its owner told by email.
WEBHOOKS_DISABLE_AFTER_HOURS = 24
WEBHOOKS_DISABLE_AFTER_GIVEN_UP = 5

# The REST API (/api/v1, issue 20): requests per personal token, and per client address for requests without a
# valid token (counted in RATELIMIT_STORAGE_URI, so every web process counts together). The answers carry
# RateLimit-Policy and RateLimit headers; over the limit, 429 with Retry-After.
API_RATE_LIMIT = "600/minute"
API_RATE_LIMIT_ANONYMOUS = "60/minute"

# ---------------------------------------------------------------- issue 21: live chat
# Live chat on the portal's pages (and on other websites through the embeddable snippet). False hides the panel
# and answers the chat door's URLs with 404.
CHAT_ENABLED = True
# The name of the SLA calendar (console: SLA calendars) whose hours are the chat's hours; "" means around the
# clock. Outside them the panel offers to leave the message as a ticket.
CHAT_CALENDAR = ""
# Chats one agent may have at once unless their own limit says otherwise.
CHAT_MAX_PER_AGENT = 3
# Seconds a visitor waits for an agent before the panel also offers to leave the message as a ticket.
CHAT_OFFER_TICKET_AFTER_SECONDS = 120
# Seconds after an online agent's last sign of life (an open inbox pings) when they count as away.
CHAT_AGENT_TIMEOUT_SECONDS = 60
# Websites (origins such as "https://www.example.com") allowed to embed the chat snippet; the portal's own
# pages need no entry.
CHAT_ALLOWED_ORIGINS = []
# Seconds between keep-alive comments on an open chat stream (proxies close idle connections); each stream also
# reads the database then, so a nudge lost with a Redis restart delays a message by at most this long.
CHAT_STREAM_KEEPALIVE_SECONDS = 15
# Seconds a stream stays open before the client is asked to reconnect (frees a server thread now and then).
CHAT_STREAM_MAX_SECONDS = 300

# --- Operations: health checks and metrics (helpdesk/ops)
# /healthz (liveness) and /readyz (database, Redis, attachment folder) need no setting and no login.
# /metrics (Prometheus text format) is off (404) unless one of these is set; with both, a scraper needs both.
# A bearer token the scraper sends: "Authorization: Bearer <METRICS_TOKEN>" (compared in constant time).
METRICS_TOKEN = ""
# Networks (CIDRs, a list or a comma-separated string) allowed to read /metrics; the client address is the one
# the app sees after TRUSTED_PROXIES. Example: ["10.0.0.0/8", "127.0.0.1/32"].
METRICS_ALLOWED_IPS = []
# The rq queues whose depth /metrics reports (when REDIS_URL is set).
METRICS_QUEUES = ["default", "mail", "search"]
