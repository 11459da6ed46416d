"""A large, realistic ticket store for bench/console.py, written by PostgreSQL itself (INSERT … SELECT over
generate_series): customers and organisations, tickets with their requester (and some CC) participants, and
five messages each in five languages. Departments and staff come from the real services beforehand."""
# The SQL is built from this module's own constants and integers, never from input:
# ruff: noqa: S608
import time

import psycopg

# Ticket language by ticket id % 10 (so messages can find it again without a column): half English.
LANGUAGES = ["en", "en", "en", "en", "en", "de", "de", "tr", "hu", "fa"]

VOCABULARY = {
    "en": {
        "subject_a": ["Cannot open", "Problem with", "Question about", "Error when using", "Refund for",
                      "Slow response from", "Missing", "Cannot log in to", "Update broke", "Wrong amount on"],
        "subject_b": ["printer", "invoice", "VPN connection", "mobile app", "dashboard", "email sync",
                      "password reset", "subscription", "export to CSV", "shared calendar", "backup job",
                      "router", "license key", "order", "shipping label"],
        "greeting": ["Hello,", "Hi team,", "Good morning,", "Dear support,", "Hello again,"],
        "customer": [
            "Since this morning the service does not respond and we cannot work.",
            "We already restarted the device twice, but the problem comes back after a few minutes.",
            "The invoice we received shows a different amount than the offer you sent us last month.",
            "Could you please tell us when the new version will be available for our team?",
            "The printer on the second floor prints only empty pages since the last update.",
            "Our accountant needs a corrected invoice before the end of the quarter.",
            "When I try to log in I get an error saying my session has expired.",
            "The export stops halfway and the file cannot be opened in the spreadsheet.",
            "Several colleagues report the same issue, so it is not only my computer.",
            "I attached a screenshot of the message that appears on the screen.",
            "This is urgent for us because the customers are waiting for their orders.",
            "The VPN connection drops every ten minutes when working from home.",
            "We would like to upgrade our subscription to the business plan.",
            "Please cancel the duplicate order that was created yesterday evening.",
        ],
        "agent": [
            "Thank you for your message and sorry for the inconvenience.",
            "I have checked your account and found the cause of the problem.",
            "Could you please send us the exact error message and the time it happened?",
            "We have corrected the invoice and you will receive the new one by email.",
            "Please install the latest update and restart the application.",
            "I have reset your password; you will receive a link to choose a new one.",
            "Our technicians are working on it and we will keep you informed.",
            "The refund has been issued and should reach your account within five working days.",
            "Please try again and let us know if the problem persists.",
        ],
        "note": [
            "Customer called about this again, seems frustrated.",
            "Checked the logs: timeouts on the sync server between 9 and 10.",
            "Escalated to second level, waiting for their answer.",
            "Duplicate of an older ticket from the same customer.",
            "Refund approved by the team lead.",
            "Probably caused by the firmware update last week.",
        ],
        "closing": ["Best regards", "Kind regards", "Thanks", "Cheers", "Regards"],
    },
    "de": {
        "subject_a": ["Problem mit", "Frage zu", "Fehler bei", "Keine Verbindung zum", "Rechnung für",
                      "Störung beim", "Kein Zugriff auf", "Falscher Betrag auf"],
        "subject_b": ["Drucker", "Rechnung", "VPN-Zugang", "Kundenportal", "Lizenzschlüssel", "Abonnement",
                      "Passwort", "Bestellung", "Lieferschein", "Router"],
        "greeting": ["Guten Tag,", "Hallo,", "Sehr geehrte Damen und Herren,", "Hallo zusammen,"],
        "customer": [
            "Seit heute Morgen funktioniert der Drucker nicht mehr und zeigt einen Fehler an.",
            "Wir haben das Gerät bereits zweimal neu gestartet, leider ohne Erfolg.",
            "Die Rechnung enthält einen falschen Betrag, bitte korrigieren Sie diese.",
            "Können Sie mir bitte mitteilen, wann die Lieferung ankommt?",
            "Die Verbindung zum Server bricht ständig ab, besonders am Nachmittag.",
            "Ich kann mich nicht mehr anmelden, das Passwort wird nicht akzeptiert.",
            "Mehrere Kollegen haben dasselbe Problem seit dem letzten Update.",
            "Bitte stornieren Sie die doppelte Bestellung von gestern.",
            "Wir möchten unser Abonnement zum Monatsende kündigen.",
            "Die Größe der Datei überschreitet anscheinend das Limit für Anhänge.",
        ],
        "agent": [
            "Vielen Dank für Ihre Nachricht und entschuldigen Sie die Unannehmlichkeiten.",
            "Wir haben die Rechnung korrigiert und Ihnen erneut zugeschickt.",
            "Bitte installieren Sie das neueste Update und starten Sie das Programm neu.",
            "Könnten Sie uns bitte die genaue Fehlermeldung schicken?",
            "Die Gutschrift wurde veranlasst und erscheint in den nächsten Tagen.",
            "Unsere Techniker kümmern sich darum, wir melden uns umgehend.",
        ],
        "note": [
            "Kunde hat nochmal angerufen, bitte dringend bearbeiten.",
            "Fehler im Log gefunden, an die Entwicklung weitergegeben.",
            "Gutschrift von der Teamleitung freigegeben.",
        ],
        "closing": ["Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße"],
    },
    "tr": {
        "subject_a": ["Sorun:", "Hakkında soru:", "Hata:", "Erişemiyorum:", "İade talebi:"],
        "subject_b": ["yazıcı", "fatura", "VPN bağlantısı", "müşteri paneli", "şifre", "sipariş", "abonelik"],
        "greeting": ["Merhaba,", "İyi günler,", "Sayın yetkili,"],
        "customer": [
            "Bu sabahtan beri sunucuya erişemiyorum, acil yardım lütfen.",
            "Cihazı iki kez yeniden başlattık ama sorun devam ediyor.",
            "Gelen faturada yanlış tutar var, düzeltebilir misiniz?",
            "Şifremi sıfırlamak istiyorum ama e-posta gelmiyor.",
            "Siparişim hâlâ kargoya verilmedi, ne zaman gelir?",
            "Yazıcı güncellemeden sonra boş sayfa yazdırıyor.",
        ],
        "agent": [
            "Mesajınız için teşekkür ederiz, yaşadığınız sorun için özür dileriz.",
            "Faturanızı düzelttik ve size tekrar gönderdik.",
            "Lütfen son güncellemeyi yükleyip uygulamayı yeniden başlatın.",
            "Teknik ekibimiz konuyla ilgileniyor, sizi bilgilendireceğiz.",
        ],
        "note": ["Müşteri tekrar aradı.", "Loglarda zaman aşımı hatası var.", "İkinci seviyeye iletildi."],
        "closing": ["Saygılarımla", "İyi çalışmalar", "Teşekkürler"],
    },
    "hu": {
        "subject_a": ["Probléma:", "Kérdés:", "Hiba:", "Nem működik:", "Visszatérítés:"],
        "subject_b": ["nyomtató", "számla", "VPN kapcsolat", "ügyfélportál", "jelszó", "rendelés", "előfizetés"],
        "greeting": ["Tisztelt Ügyfélszolgálat!", "Jó napot!", "Üdvözlöm!"],
        "customer": [
            "A számla hibás összeggel érkezett, kérem javítsák.",
            "Ma reggel óta nem tudok bejelentkezni a rendszerbe.",
            "A nyomtató a frissítés óta csak üres lapokat nyomtat.",
            "Többször újraindítottuk a gépet, de a hiba nem szűnt meg.",
            "Mikor érkezik meg a múlt héten leadott rendelésünk?",
            "Szeretnénk lemondani az előfizetést a hónap végével.",
        ],
        "agent": [
            "Köszönjük megkeresését, elnézést kérünk a kellemetlenségért.",
            "A számlát kijavítottuk és újra elküldtük önnek.",
            "Kérjük, telepítse a legújabb frissítést, majd indítsa újra az alkalmazást.",
            "Kollégáink már dolgoznak a hibán, hamarosan jelentkezünk.",
        ],
        "note": ["Az ügyfél ismét telefonált.", "A naplóban időtúllépés látszik.", "Továbbítva a második szintre."],
        "closing": ["Üdvözlettel", "Tisztelettel", "Köszönettel"],
    },
    "fa": {
        "subject_a": ["مشکل در", "سوال درباره", "خطا در", "عدم دسترسی به", "درخواست بازگشت وجه برای"],
        "subject_b": ["ورود به حساب کاربری", "فاکتور", "اتصال وی‌پی‌ان", "چاپگر", "سفارش", "اشتراک"],
        "greeting": ["سلام،", "با سلام و احترام،", "وقت بخیر،"],
        "customer": [
            "از امروز صبح نمی‌توانم وارد حساب کاربری خود شوم.",
            "فاکتور ارسال شده مبلغ اشتباهی دارد، لطفاً اصلاح کنید.",
            "دستگاه را دو بار خاموش و روشن کردیم اما مشکل برطرف نشد.",
            "سفارش من هنوز ارسال نشده است، چه زمانی می‌رسد؟",
            "چاپگر بعد از به‌روزرسانی فقط صفحه سفید چاپ می‌کند.",
        ],
        "agent": [
            "از پیام شما سپاسگزاریم و بابت این مشکل عذرخواهی می‌کنیم.",
            "فاکتور شما اصلاح شد و دوباره برایتان ارسال گردید.",
            "لطفاً آخرین به‌روزرسانی را نصب کرده و برنامه را دوباره اجرا کنید.",
            "همکاران فنی ما در حال بررسی هستند و به زودی اطلاع می‌دهیم.",
        ],
        "note": ["مشتری دوباره تماس گرفت.", "در لاگ‌ها خطای زمان‌بندی دیده می‌شود.", "به پشتیبانی سطح دو ارجاع شد."],
        "closing": ["با احترام", "با تشکر", "ارادتمند"],
    },
}

FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hans", "Ilse", "Jonas", "Katrin",
               "Lukas", "Mehmet", "Ayşe", "Emre", "Zeynep", "Gábor", "Eszter", "Zsófia", "László", "Sara",
               "Reza", "Maryam", "Ali", "Niloufar", "Olivia", "Noah", "Liam", "Mia", "Sophie"]
LAST_NAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Yılmaz", "Kaya", "Demir", "Şahin",
              "Nagy", "Kovács", "Tóth", "Szabó", "Horváth", "Ahmadi", "Hosseini", "Karimi", "Smith", "Jones",
              "Brown", "Taylor", "Wilson", "Martin", "García", "Rossi"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "firma.example", "sirket.example",
           "ceg.example", "shop.example"]

# Words the search measures: common ones (in many tickets) and rare ones (error codes appear in about one
# ticket in 20,000 / ERROR_CODES; invoice references are unique to their ticket).
ERROR_CODES = 20_000
COMMON_WORDS = ["printer", "rechnung", "invoice update"]


def _sql_array(values):
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _timed(conn, label, sql, params=None):
    started = time.perf_counter()
    rows = conn.execute(sql, params).rowcount
    print(f"  {label}: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)


def _vocabulary(conn):
    conn.execute("CREATE TEMP TABLE bench_vocab (lang int PRIMARY KEY, subject_a text[], subject_b text[], "
                 "greeting text[], customer text[], agent text[], note text[], closing text[])")
    for number, code in enumerate(dict.fromkeys(LANGUAGES)):
        words = VOCABULARY[code]
        conn.execute("INSERT INTO bench_vocab VALUES (%s, " + ", ".join(
            _sql_array(words[k]) for k in ("subject_a", "subject_b", "greeting", "customer", "agent", "note",
                                           "closing")) + ")", (number,))
    # ticket id % 10 -> language row
    conn.execute("CREATE TEMP TABLE bench_lang (slot int PRIMARY KEY, lang int)")
    codes = list(dict.fromkeys(LANGUAGES))
    for slot, code in enumerate(LANGUAGES):
        conn.execute("INSERT INTO bench_lang VALUES (%s, %s)", (slot, codes.index(code)))


def _pick(array, r):
    """SQL for a random element of ``array`` chosen by the random column ``r``."""
    return f"({array})[1 + floor({r} * cardinality({array}))::int]"


def _check_schema(conn, covered):
    """Fail before loading if a migration added a NOT NULL column without a default that we do not fill."""
    missing = []
    for table, columns in covered.items():
        rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                            "AND is_nullable = 'NO' AND column_default IS NULL", (table,)).fetchall()
        missing += [f"{table}.{name}" for (name,) in rows if name not in columns]
    if missing:
        raise SystemExit(f"the schema has NOT NULL columns this loader does not fill: {', '.join(missing)}")


def load(url, *, tickets, customers, organisations, agents_by_department, all_agents, number_start, seed=0.42):
    """Write customers, organisations, tickets, participants and messages; returns nothing. ``agents_by_department``
    maps a department id to its agents' ids (tickets are assigned within their department)."""
    departments = list(agents_by_department)
    with psycopg.connect(url, autocommit=True) as conn:
        _check_schema(conn, {
            "organisations": {"id", "name", "share_tickets", "created_at"},
            "users": {"id", "email", "full_name", "role", "active", "session_version", "created_at", "kb_editor"},
            "tickets": {"id", "number", "subject", "status", "priority", "requester_id", "source", "created_at",
                        "updated_at", "last_activity_at", "sla_paused_minutes"},
            "messages": {"id", "ticket_id", "kind", "body_text", "body_html", "source", "created_at"},
            "participants": {"id", "ticket_id", "email", "name", "role", "created_at"},
        })
        conn.execute("SELECT setseed(%s)", (seed,))
        # Bulk load: no per-row foreign key triggers (the rows are consistent by construction), big sorts.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET synchronous_commit = off")
        _vocabulary(conn)
        first, last = _sql_array(FIRST_NAMES), _sql_array(LAST_NAMES)
        domains = _sql_array(DOMAINS)

        _timed(conn, "organisations", f"""
            INSERT INTO organisations (name, customer_number, share_tickets, created_at)
            SELECT {_pick(last, 'random()')} || ' ' || (ARRAY['GmbH','Ltd','Kft.','A.Ş.','Co.','Group'])
                       [1 + g %% 6] || ' ' || g,
                   'C' || lpad(g::text, 6, '0'), g %% 5 = 0, now() - interval '3 years' * random()
            FROM generate_series(1, %s) g""", (organisations,))
        org_min = conn.execute("SELECT min(id) FROM organisations").fetchone()[0]

        # Customers: every third has no organisation; some have registered (a password is not needed here:
        # nobody logs in as them), most came by email.
        _timed(conn, "customers", f"""
            INSERT INTO users (email, full_name, role, active, session_version, created_at, locale,
                               organisation_id, kb_editor)
            SELECT 'customer' || g || '@' || {_pick(domains, 'random()')},
                   {_pick(first, 'random()')} || ' ' || {_pick(last, 'random()')}, 'customer', true, 1,
                   now() - interval '3 years' * random(),
                   (ARRAY['en','en','de','tr','hu','fa'])[1 + g %% 6],
                   CASE WHEN g %% 3 = 0 THEN NULL ELSE %s + floor(random() * %s)::int END, false
            FROM generate_series(1, %s) g""", (org_min, organisations, customers))
        cust_min, cust_count = conn.execute("SELECT min(id), count(*) FROM users WHERE role = 'customer'").fetchone()

        # Department choice: Technical-like first department 50 %, then 25 %, 15 %, none 10 %.
        dept_cases = []
        shares = [0.5, 0.75, 0.9]
        for dept, bound in zip(departments, shares, strict=False):
            dept_cases.append(f"WHEN r_dept < {bound} THEN {int(dept)}")
        dept_sql = "CASE " + " ".join(dept_cases) + " ELSE NULL END"
        assignee_cases = " ".join(
            f"WHEN {int(dept)} THEN (ARRAY{sorted(ids)}::int[])[1 + floor(r_agent * {len(ids)})::int]"
            for dept, ids in agents_by_department.items() if ids)
        any_agent = f"(ARRAY{sorted(all_agents)}::int[])[1 + floor(r_agent * {len(all_agents)})::int]"

        # Tickets: numbered in creation order over two years; 80 % of the last 30 days' and 3 % of older tickets
        # are still not closed (about 7 % in all). Messages are spread evenly from creation to the last
        # activity (1 to 48 hours per step, never in the future).
        _timed(conn, "tickets", f"""
            INSERT INTO tickets (id, number, subject, status, priority, department_id, requester_id, assignee_id,
                                 organisation_id, source, created_at, updated_at, last_activity_at,
                                 first_response_at, closed_at)
            SELECT g, %(start)s + g - 1,
                   {_pick('v.subject_a', 'r_subj_a')} || ' ' || {_pick('v.subject_b', 'r_subj_b')},
                   status, priority, dept, requester, assignee, u.organisation_id, source,
                   created, last_activity, last_activity,
                   created + (last_activity - created) / 4,
                   CASE WHEN status = 'closed' THEN last_activity END
            FROM (
                SELECT *,
                       CASE WHEN status = 'closed' OR r_assign >= 0.3
                            THEN CASE dept {assignee_cases} ELSE {any_agent} END END AS assignee,
                       least(created + interval '1 hour' * step_hours * 4, now()) AS last_activity
                FROM (
                    SELECT *,
                           CASE WHEN (now() - created < interval '30 days' AND r_state < 0.8) OR r_state < 0.03
                                THEN (ARRAY['open','open','open','open','in_progress','in_progress','in_progress',
                                            'answered','answered','waiting_on_customer'])[1 + floor(r_status * 10)::int]
                                ELSE 'closed' END AS status,
                           {dept_sql} AS dept
                    FROM (
                        SELECT g,
                               least(now() - interval '730 days' * (1 - (g + random() * 50) / %(n)s::float8),
                                     now() - interval '1 minute') AS created,
                               random() AS r_state, random() AS r_status, random() AS r_dept,
                               random() AS r_assign, random() AS r_agent, random() AS r_subj_a, random() AS r_subj_b,
                               (ARRAY['low','low','normal','normal','normal','normal','normal','normal','high',
                                      'high','high','urgent'])[1 + floor(random() * 12)::int] AS priority,
                               %(cust_min)s + floor(random() * %(cust_count)s)::int AS requester,
                               CASE WHEN random() < 0.6 THEN 'email' ELSE 'web' END AS source,
                               1 + floor(random() * 48)::int AS step_hours
                        FROM generate_series(1, %(n)s) g
                    ) a
                ) b
            ) c
            JOIN bench_lang l ON l.slot = g %% 10
            JOIN bench_vocab v ON v.lang = l.lang
            JOIN users u ON u.id = requester""",
               {"start": number_start, "n": tickets, "cust_min": cust_min, "cust_count": cust_count})
        conn.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))")

        _timed(conn, "requester participants", """
            INSERT INTO participants (ticket_id, email, name, role, user_id, created_at)
            SELECT t.id, u.email, u.full_name, 'requester', u.id, t.created_at
            FROM tickets t JOIN users u ON u.id = t.requester_id""")
        _timed(conn, "CC participants (one ticket in ten)", f"""
            INSERT INTO participants (ticket_id, email, name, role, user_id, created_at)
            SELECT t.id, 'colleague' || t.id % 5000 || '@' || {_pick(domains, 'random()')}, '', 'cc', NULL,
                   t.created_at
            FROM tickets t WHERE t.id % 10 = 3""")

        # Messages: 1 the customer's question, 2 an agent's reply, 3-5 a mix of the customer's answers, agents'
        # replies and internal notes. Bodies: greeting, 2-4 sentences, sometimes an error code or an invoice
        # reference (the search's rare words), closing and name.
        greeting, closing = _pick("v.greeting", "r1"), _pick("v.closing", "r6")
        _timed(conn, "messages", f"""
            INSERT INTO messages (ticket_id, kind, author_id, author_email, author_name, body_text, body_html,
                                  message_id, in_reply_to, source, created_at)
            SELECT ticket_id, kind,
                   CASE kind WHEN 'customer' THEN requester_id ELSE agent_id END,
                   CASE kind WHEN 'customer' THEN requester_email ELSE agent_email END,
                   CASE kind WHEN 'customer' THEN requester_name ELSE agent_name END,
                   CASE kind
                     WHEN 'internal_note' THEN {_pick('v.note', 'r2')} || CASE WHEN r3 < 0.5
                          THEN ' ' || {_pick('v.note', 'r4')} ELSE '' END
                     WHEN 'agent_reply' THEN {greeting} || E'\\n\\n' || {_pick('v.agent', 'r2')} || ' '
                          || {_pick('v.agent', 'r3')} || CASE WHEN r4 < 0.5 THEN ' ' || {_pick('v.agent', 'r5')}
                          ELSE '' END || E'\\n\\n' || {closing} || E'\\n' || agent_name
                     ELSE {greeting} || E'\\n\\n' || {_pick('v.customer', 'r2')} || ' '
                          || {_pick('v.customer', 'r3')} || CASE WHEN r4 < 0.6 THEN ' '
                          || {_pick('v.customer', 'r5')} ELSE '' END
                          || CASE WHEN r7 < 0.15 THEN ' Error code E' || floor(r8 * {ERROR_CODES})::int || '.'
                                  WHEN r7 < 0.25 THEN ' Invoice R' || lpad(ticket_id::text, 8, '0') || '.'
                                  ELSE '' END
                          || E'\\n\\n' || {closing} || E'\\n' || requester_name
                   END,
                   '', '<' || number || '.' || k || '@bench.helpdesk.example>',
                   CASE WHEN k > 1 THEN '<' || number || '.' || (k - 1) || '@bench.helpdesk.example>' END,
                   CASE WHEN kind = 'customer' THEN source ELSE 'web' END,
                   created_at + (last_activity_at - created_at) * (k - 1) / 4
            FROM (
                SELECT t.id AS ticket_id, t.number, t.source, t.created_at, t.last_activity_at, t.requester_id,
                       r.email AS requester_email, r.full_name AS requester_name,
                       a.id AS agent_id, a.email AS agent_email, a.full_name AS agent_name, l.lang, k,
                       CASE WHEN k = 1 THEN 'customer' WHEN k = 2 THEN 'agent_reply'
                            ELSE (ARRAY['customer','customer','customer','agent_reply','agent_reply',
                                        'agent_reply','internal_note','internal_note'])[1 + floor(random() * 8)::int]
                       END AS kind,
                       random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                       random() AS r6, random() AS r7, random() AS r8
                FROM tickets t
                JOIN users r ON r.id = t.requester_id
                JOIN users a ON a.id = coalesce(t.assignee_id, {int(sorted(all_agents)[0])})
                JOIN bench_lang l ON l.slot = t.id % 10
                CROSS JOIN generate_series(1, 5) k
            ) m
            JOIN bench_vocab v ON v.lang = m.lang""")

        # New tickets continue after the loaded numbers.
        conn.execute("INSERT INTO counters (name, value) VALUES ('ticket_number', %s) "
                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (number_start + tickets - 1,))
        conn.execute("SET session_replication_role = origin")
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE: {time.perf_counter() - started:.1f} s", flush=True)
