"""Demo data for trying helpdesk out: departments, staff, a customer and tickets with threads."""
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.actors import CLI
from helpdesk.extensions import db
from helpdesk.tickets import departments
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import HIGH, URGENT

ADMIN = ("admin", "admin@example.com", "demo-admin-pass")
AGENT = ("agent", "agent@example.com", "demo-agent-pass")
CUSTOMER = ("customer", "customer@example.com", "demo-customer-pass")


# Billing settings for trying billing out (`helpdesk serve --demo`), each used only where the configuration leaves
# it unset: a seller, a bank account per currency (example IBANs) and the booking time in the customers' words.
DEMO_BILLING = {
    "BILLING_SELLER": {"name": "Example Hosting GmbH", "address": "Musterstraße 1\n10115 Berlin", "country": "DE",
                       "vat_number": "DE123456789", "email": "billing@example.com", "website": "example.com"},
    "BILLING_BANK_ACCOUNTS": {
        "EUR": {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "bank": "Commerzbank",
                "holder": "Example Hosting GmbH"},
        "TRY": {"iban": "TR33 0006 1005 1978 6457 8413 26", "bic": "ISBKTRISXXX", "bank": "Türkiye İş Bankası",
                "holder": "Example Hosting GmbH"},
        "HUF": {"iban": "HU42 1177 3016 1111 1018 0000 0000", "bic": "OTPVHUHB", "bank": "OTP Bank",
                "holder": "Example Hosting GmbH"},
        "IRR": {"iban": "IR06 2960 0000 0010 0324 2000 01", "bic": "", "bank": "بانک ملت",
                "holder": "Example Hosting GmbH"},
    },
    "BILLING_TRANSFER_BOOKING_TIME": {
        "en": "We book transfers by hand within 4–8 hours on working days; your order becomes active then.",
        "de": "Überweisungen buchen wir werktags innerhalb von 4–8 Stunden von Hand; dann wird Ihre Bestellung aktiv.",
        "tr": "Havaleler iş günlerinde 4–8 saat içinde elle işlenir; siparişiniz ardından etkinleşir.",
        "hu": "Az átutalásokat munkanapokon 4–8 órán belül kézzel könyveljük; ezután aktiváljuk a rendelését.",
        "fa": "واریزها در روزهای کاری ظرف ۴ تا ۸ ساعت به‌صورت دستی ثبت می‌شوند و سپس سفارش شما فعال می‌شود.",
    },
}


def demo_settings(config) -> dict:
    """The DEMO_BILLING settings ``config`` leaves unset (a seller without a country counts as unset)."""
    unset = {key: value for key, value in DEMO_BILLING.items() if not config.get(key)}
    if not (config.get("BILLING_SELLER") or {}).get("country"):
        unset["BILLING_SELLER"] = DEMO_BILLING["BILLING_SELLER"]
    return unset


def load_demo():
    """Create the demo records once; returns (created?, [(role, login, password)])."""
    logins = [ADMIN, AGENT, CUSTOMER]
    if db.session.scalar(sa.select(User.id).where(User.email == ADMIN[1])):
        return False, logins
    technical = departments.create_department(CLI, name="Technical", inbound_address="support@example.com",
                                              reply_from_address="support@example.com",
                                              signature="Example Hosting — Technical support")
    billing = departments.create_department(CLI, name="Billing", inbound_address="billing@example.com",
                                            reply_from_address="billing@example.com")
    org = accounts.create_organisation(CLI, name="Acme GmbH", customer_number="C-10001")
    admin = accounts.create_user(CLI, email=ADMIN[1], full_name="Ada Admin", role="admin", password=ADMIN[2])
    agent = accounts.create_user(CLI, email=AGENT[1], full_name="Alex Agent", role="agent", password=AGENT[2])
    departments.add_agent_to_department(CLI, technical, agent)
    departments.add_agent_to_department(CLI, billing, admin)
    customer = accounts.create_user(CLI, email=CUSTOMER[1], full_name="Chris Customer", role="customer",
                                    password=CUSTOMER[2], organisation=org)

    first = tickets.open_ticket(customer, subject="Server unreachable since this morning", department=technical,
                                priority=URGENT, body_text="Our web server at 203.0.113.10 stopped answering "
                                "at 07:40. Can you check?", cc=["ops@acme.example"])
    tickets.add_agent_reply(agent, first, body_text="We are on it: the host lost its uplink. We will update "
                            "you within 30 minutes.")
    tickets.add_internal_note(agent, first, body_text="Switch port 14 flapping; datacenter ticket DC-4411.")
    tickets.add_customer_message(customer, first, body_text="Thanks, it is back up. What caused it?")

    second = tickets.open_ticket(CLI, subject="Invoice 2026-0042 charged twice", department=billing, priority=HIGH,
                                 requester_email="guest@example.org", requester_name="Gabi Guest",
                                 body_text="My card was charged twice for invoice 2026-0042.", source="email")
    tickets.add_agent_reply(admin, second, body_text="Sorry about that: we refunded the second charge today.")
    tickets.close(admin, second)

    tickets.open_ticket(customer, subject="How do I add a DNS record?", department=technical,
                        body_text="Where in the panel can I add a TXT record for domain verification?")
    _knowledge_base(admin, agent)
    _billing(admin, customer)
    return True, logins


# The demo folders' titles and descriptions in the desk's other languages.
FOLDER_TEXTS = {
    "Latest news": {
        "de": ("Neuigkeiten", "Ankündigungen und Wartungsarbeiten"),
        "tr": ("Son haberler", "Duyurular ve bakım çalışmaları"),
        "hu": ("Legfrissebb hírek", "Közlemények és karbantartások"),
        "fa": ("آخرین اخبار", "اطلاعیه‌ها و تعمیرات دوره‌ای"),
    },
    "Domains and DNS": {
        "de": ("Domains und DNS", "Einträge, Transfers und Nameserver"),
        "tr": ("Alan adları ve DNS", "Kayıtlar, transferler ve ad sunucuları"),
        "hu": ("Domainek és DNS", "Rekordok, átköltöztetések és névszerverek"),
        "fa": ("دامنه‌ها و DNS", "رکوردها، انتقال‌ها و سرورهای نام"),
    },
    "Transfers": {"de": ("Transfers", ""), "tr": ("Transferler", ""), "hu": ("Átköltöztetések", ""),
                  "fa": ("انتقال‌ها", "")},
    "Servers": {
        "de": ("Server", "Webserver, Backups und Überwachung"),
        "tr": ("Sunucular", "Web sunucuları, yedekler ve izleme"),
        "hu": ("Szerverek", "Webszerverek, biztonsági mentések és felügyelet"),
        "fa": ("سرورها", "وب‌سرورها، پشتیبان‌گیری و پایش"),
    },
    "Runbooks": {
        "de": ("Betriebshandbücher", "Nur für Agenten"),
        "tr": ("Çalışma kılavuzları", "Yalnızca temsilciler için"),
        "hu": ("Üzemeltetési leírások", "Csak ügyintézőknek"),
        "fa": ("دستورالعمل‌های عملیاتی", "فقط برای کارشناسان"),
    },
}


def _knowledge_base(admin, agent):
    """A few folders and articles (English, some also in German), a draft, an internal runbook and news."""
    from helpdesk.kb import service as kb
    from helpdesk.kb.models import CUSTOMERS, INTERNAL, NEWS

    kb.set_editor(CLI, agent, True)

    def folder(title, description="", **fields):
        # In the desk's default language where the demo has it (English otherwise), the others as translations.
        texts = {"en": (title, description), **FOLDER_TEXTS[title]}
        own_title, own_description = texts.pop(kb.default_language(), None) or texts.pop("en")
        return kb.create_folder(admin, title=own_title, description=own_description, translations=texts, **fields)

    news = folder("Latest news", description="Announcements and maintenance", kind=NEWS)
    kb.create_article(admin, folder=news, language="en", title="Network maintenance on Sunday night",
                      body="On Sunday between 02:00 and 04:00 UTC the network in Frankfurt gets new routers. "
                           "Expect two short interruptions.", tags="maintenance", publish=True)
    dns = folder("Domains and DNS", description="Records, transfers and name servers")
    record = kb.create_article(
        agent, folder=dns, language="en", title="Adding a DNS record", tags="dns, txt, domain", publish=True,
        body="1. Open **Domains** in the panel.\n2. Choose the domain and *DNS records*.\n"
             "3. Click **Add record**, choose the type (A, CNAME, TXT, MX) and save.\n\n"
             "Changes reach most resolvers within an hour.")
    kb.update_article(agent, record, language="de", title="Einen DNS-Eintrag hinzufügen",
                      body="1. Öffnen Sie **Domains** im Panel.\n2. Wählen Sie die Domain und *DNS-Einträge*.\n"
                           "3. Klicken Sie auf **Eintrag hinzufügen**, wählen Sie den Typ und speichern Sie.")
    transfers = folder("Transfers", parent=dns, visibility=CUSTOMERS)
    kb.create_article(agent, folder=transfers, language="en", title="Moving a domain to us", tags="domain, transfer",
                      body="Ask your current registrar for the auth code, then start the transfer in the panel.",
                      publish=True)
    servers = folder("Servers", description="Web servers, backups and monitoring")
    kb.create_article(agent, folder=servers, language="en", title="Restoring a backup", tags="backup, restore",
                      body="Backups are kept for 14 days. Open **Servers › Backups**, pick a date and restore.",
                      video_url="https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ", publish=True)
    kb.create_article(agent, folder=servers, language="en", title="Upgrading PHP (draft)", tags="php",
                      body="Work in progress.")
    runbooks = folder("Runbooks", description="For agents only", visibility=INTERNAL)
    kb.create_article(admin, folder=runbooks, language="en", title="Uplink down: what to check", tags="network",
                      body="Check the switch port, then open a datacenter ticket.", publish=True)


# The demo catalogue: name and description per language, prices per cycle in minor units (cents, kuruş; forints and
# rials have none). Hosting and domains are priced net, the Start package gross (what a consumer pays).
CATALOGUE = {
    "hosting": {"en": "Web hosting", "de": "Webhosting", "tr": "Web barındırma", "hu": "Webtárhely",
                "fa": "میزبانی وب"},
    "domains": {"en": "Domains", "de": "Domains", "tr": "Alan adları", "hu": "Domainek", "fa": "دامنه‌ها"},
    "contracts": {"en": "Service contracts", "de": "Serviceverträge", "tr": "Hizmet sözleşmeleri",
                  "hu": "Szervizszerződések", "fa": "قراردادهای خدمات"},
}
PRODUCTS = [
    ("hosting", "web-hosting", "product", {
        "en": ("Web hosting", "10 GB SSD, PHP and MySQL, 20 mailboxes, daily backups"),
        "de": ("Webhosting", "10 GB SSD, PHP und MySQL, 20 Postfächer, tägliche Sicherungen"),
        "tr": ("Web barındırma", "10 GB SSD, PHP ve MySQL, 20 e-posta kutusu, günlük yedekleme"),
        "hu": ("Webtárhely", "10 GB SSD, PHP és MySQL, 20 postafiók, napi mentés"),
        "fa": ("میزبانی وب", "۱۰ گیگابایت SSD، PHP و MySQL، ۲۰ صندوق ایمیل، پشتیبان‌گیری روزانه")},
     {"monthly": {"EUR": 690, "TRY": 24900, "HUF": 2490, "IRR": 9_000_000},
      "yearly": {"EUR": 6900, "TRY": 249000, "HUF": 24900, "IRR": 90_000_000}}, {"EUR": 500, "TRY": 15000}, False),
    ("domains", "domain-com", "product", {
        "en": ("Domain (.com)", "Registration or transfer, DNS management included"),
        "de": ("Domain (.com)", "Registrierung oder Transfer, DNS-Verwaltung inklusive"),
        "tr": ("Alan adı (.com)", "Kayıt veya transfer, DNS yönetimi dahil"),
        "hu": ("Domain (.com)", "Regisztráció vagy átköltöztetés, DNS-kezeléssel"),
        "fa": ("دامنه (.com)", "ثبت یا انتقال، همراه با مدیریت DNS")},
     {"yearly": {"EUR": 1490, "TRY": 54900, "HUF": 5490, "IRR": 25_000_000}}, {}, False),
    ("hosting", "start-package", "package", {
        "en": ("Start package", "Web hosting for a basic website and mailboxes, with a free domain for the first year"),
        "de": ("Start-Paket", "Webhosting für eine einfache Website und Postfächer, mit einer Domain im ersten Jahr "
                              "kostenlos"),
        "tr": ("Başlangıç paketi", "Temel bir web sitesi ve e-posta kutuları için barındırma, ilk yıl ücretsiz alan "
                                   "adıyla"),
        "hu": ("Start csomag", "Tárhely egy alap weboldalhoz és e-mail címekhez, az első évben ingyenes domainnel"),
        "fa": ("بسته شروع", "میزبانی برای یک وب‌سایت ساده و صندوق‌های ایمیل، با دامنه رایگان برای سال اول")},
     {"monthly": {"EUR": 990, "TRY": 34900, "HUF": 3990, "IRR": 12_000_000},
      "yearly": {"EUR": 9900, "TRY": 349000, "HUF": 39900, "IRR": 120_000_000}}, {}, True),
    ("contracts", "service-contract", "device_contract", {
        "en": ("Service contract renewal", "On-site service and parts for your device"),
        "de": ("Verlängerung des Servicevertrags", "Service vor Ort und Ersatzteile für Ihr Gerät"),
        "tr": ("Hizmet sözleşmesi yenileme", "Cihazınız için yerinde servis ve parçalar"),
        "hu": ("Szervizszerződés megújítása", "Helyszíni szerviz és alkatrészek a készülékhez"),
        "fa": ("تمدید قرارداد خدمات", "خدمات در محل و قطعات برای دستگاه شما")},
     {"yearly": {"EUR": 19000, "IRR": 2_500_000_000}, "biennial": {"EUR": 34000, "IRR": 4_500_000_000},
      "triennial": {"EUR": 48000, "IRR": 6_300_000_000}}, {}, False),
]
TAX_RULES = [("DE", "USt.", 1900), ("AT", "USt.", 2000), ("TR", "KDV", 2000), ("HU", "ÁFA", 2700),
             ("IR", "مالیات بر ارزش افزوده", 1000)]


def _billing(admin, customer):
    """The demo catalogue (hosting, domains, the Start package with its free domain, device service contract renewals,
    priced in EUR, TRY, HUF and IRR), tax rules, and the demo customer's paid and unpaid orders."""
    from helpdesk.billing import catalogue, customers, orders, payments
    from helpdesk.billing.pricing import CartItem

    # Contract renewals are bought from a device's page, never from the catalogue: their group is hidden.
    groups = {code: catalogue.create_group(admin, code=code, position=position, visible=code != "contracts",
                                           texts={lang: {"name": name} for lang, name in names.items()})
              for position, (code, names) in enumerate(CATALOGUE.items())}
    made = {}
    for position, (group, code, kind, texts, prices, setup_fees, includes_tax) in enumerate(PRODUCTS):
        product = catalogue.create_product(admin, group=groups[group], code=code, kind=kind, position=position,
                                           texts={lang: {"name": name, "description": description}
                                                  for lang, (name, description) in texts.items()})
        for cycle, amounts in prices.items():
            for currency, amount in amounts.items():
                catalogue.set_price(admin, product, cycle=cycle, currency=currency, amount=amount,
                                    setup_fee=setup_fees.get(currency, 0) if cycle == "monthly" else 0,
                                    includes_tax=includes_tax)
        made[code] = product
    catalogue.add_package_item(admin, made["start-package"], made["domain-com"], cycle="yearly", free_periods=1)
    disk = catalogue.add_option(admin, made["web-hosting"], code="disk", texts={"en": {"name": "Disk space"},
                                                                              "de": {"name": "Speicherplatz"}},
                                choices=[{"code": "10gb", "texts": {"en": {"name": "10 GB"}}},
                                         {"code": "50gb", "texts": {"en": {"name": "50 GB"}}}])
    for currency, amount in (("EUR", 300), ("TRY", 9900), ("HUF", 990), ("IRR", 4_000_000)):
        catalogue.set_choice_price(admin, disk.choices[1], cycle="monthly", currency=currency, amount=amount)
    for country, name, rate in TAX_RULES:
        catalogue.set_tax_rule(admin, country=country, name=name, rate_bp=rate)

    account = customers.open_account(CLI, customer)
    customers.update_details(CLI, account, name="Acme GmbH", address="Hauptstraße 5\n10115 Berlin", country="DE",
                             customer_type="business", tax_number="DE811907980", currency="EUR")
    paid = orders.place_order(customer, account, [CartItem(made["start-package"].id, "monthly",
                                                           identifier="acme.example")], payment_method="credit")
    payments.record_payment(CLI, invoice=paid.invoice, amount=paid.invoice.total, currency="EUR", source="manual",
                            external_id="demo-transfer-1", note="Booked from the demo bank statement")
    orders.place_order(customer, account, [CartItem(made["web-hosting"].id, "yearly", identifier="shop.acme.example")],
                       payment_method="credit")
    _devices(admin, customer, made["service-contract"])


def _devices(admin, customer, contract_product):
    """A device type renewed through the contract product, and a device of the demo customer's account whose
    contract ends in a fortnight and whose installation waits for the customer's confirmation."""
    from datetime import timedelta

    from helpdesk.accounts.memberships import default_account
    from helpdesk.devices import catalogue as device_catalogue
    from helpdesk.devices import registry

    device_type = device_catalogue.create_device_type(admin, code="acme-x200", brand="Acme", model="X200",
                                                      warranty_months=12, service_months=12,
                                                      contract_product_id=contract_product.id)
    today = registry.today()
    registry.register_device(admin, default_account(customer).id, device_type=device_type.id,
                             serial_number="X200-0001", installed_on=today - timedelta(days=350),
                             service_ends_on=today + timedelta(days=15))
