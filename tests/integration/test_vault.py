"""The credential vault: an agency keeps each customer account's access data (service, address, user name,
password, notes). Values are sealed at rest in their place; the list shows no secret; each reveal is a POST that
the audit trail records before the value is shown; secrets appear nowhere else (logs, mail, audit details, other
pages, the database in clear); `helpdesk vault rotate-key` moves every value to the current key in batches."""
import base64
import logging
import os
import re

import pytest
import sqlalchemy as sa

from helpdesk.accounts import memberships
from helpdesk.accounts.models import Membership
from helpdesk.audit.models import AuditEvent
from helpdesk.audit.sentences import tell
from helpdesk.extensions import db
from helpdesk.vault import service as vault
from helpdesk.vault.errors import CannotReveal, VaultUnavailable
from helpdesk.vault.models import VaultEntry
from tests.conftest import csrf_token, log_in

pytestmark = pytest.mark.backends("postgresql")

PAGE = "/account/vault"
PASSWORD = "Kx9!tarhely-jelszo-Ω"
NOTES = "Kezelő fiók: penzugy@sparrow.hu\nPIN 4411-secret-note"
NEW_PASSWORD = "N3w-pa55w0rd-after-change"


def words(page) -> str:
    """A page's text as a reader sees it: no tags, spaces collapsed."""
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    for spaced, tight in ((" .", "."), (" ,", ","), ("“ ", "“"), (" ”", "”")):
        text = text.replace(spaced, tight)
    return text


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def own_account(user):
    """``user``'s own account (owner, every permission), committed."""
    account = memberships.ensure_personal_account(user)
    db.session.commit()
    return account


def only_member_of(user, account, **permissions):
    """Make ``user`` a member of ``account`` alone (so it is the account they act for) with ``permissions``."""
    db.session.execute(sa.delete(Membership).where(Membership.user_id == user.id))
    db.session.add(Membership(account_id=account.id, user_id=user.id, **permissions))
    db.session.commit()


def add_entry(owner, account, service="tarhely.eu", **values):
    values = {"url": "https://www.tarhely.eu/login", "username": "ugyfelneve.marketing@gmail.com",
              "password": PASSWORD, "notes": NOTES, **values}
    return vault.add_entry(owner, account.id, service=service, **values)


def fresh(entry_id):
    db.session.rollback()  # the requests committed in their own sessions
    return db.session.get(VaultEntry, entry_id)


def vault_rows():
    db.session.rollback()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "vault").order_by(AuditEvent.id)).all()


def reveal_form(client, entry_id, field="password", headers=None):
    token = csrf_token(client.get(PAGE).text)
    return client.post(f"{PAGE}/{entry_id}/reveal/{field}", data={"csrf_token": token}, headers=headers or {})


@pytest.fixture
def carla_account(app, customer):
    return own_account(customer)


# --------------------------------------------------------------------------- sealed at rest, in its place

def test_the_user_name_password_and_notes_are_sealed_at_rest(app, customer, carla_account):
    entry = add_entry(customer, carla_account)
    stored = db.session.execute(sa.text("SELECT service, url, username_sealed, password_sealed, notes_sealed "
                                        "FROM vault_entries WHERE id = :id"), {"id": entry.id}).one()
    assert stored.service == "tarhely.eu" and stored.url == "https://www.tarhely.eu/login"
    for sealed, plain in zip(stored[2:], ("ugyfelneve.marketing@gmail.com", PASSWORD, NOTES), strict=True):
        assert sealed.startswith("v1:dev:") and plain not in sealed
    assert vault.reveal(customer, carla_account.id, entry.id, "password") == PASSWORD
    assert vault.reveal(customer, carla_account.id, entry.id, "notes") == NOTES


def test_a_sealed_value_copied_to_another_row_or_field_does_not_open(app, client, customer, carla_account):
    first = add_entry(customer, carla_account)
    second = add_entry(customer, carla_account, service="Gmail", password="another one", notes="other notes")
    db.session.execute(sa.update(VaultEntry).where(VaultEntry.id == second.id)
                       .values(password_sealed=first.password_sealed, notes_sealed=first.password_sealed))
    db.session.commit()

    for field in ("password", "notes"):
        with pytest.raises(CannotReveal) as caught:
            vault.reveal(customer, carla_account.id, second.id, field)
        assert PASSWORD not in str(caught.value)
        db.session.rollback()
    assert vault.reveal(customer, carla_account.id, first.id, "password") == PASSWORD
    # The customer reads why in words; nothing was revealed, so nothing was recorded as revealed.
    log_in(client, "carla@example.test")
    answer = client.post(f"{PAGE}/{second.id}/reveal/password",
                         data={"csrf_token": csrf_token(client.get(PAGE).text)}, follow_redirects=True)
    assert "This value cannot be read" in answer.text and PASSWORD not in answer.text
    assert [r.changes["entry"] for r in vault_rows() if r.action == "secret-revealed"] == [first.id]


def test_a_sealed_value_moved_to_another_account_does_not_open(app, customer, make_user, carla_account):
    dora = make_user("customer", email="dora@example.test")
    dora_account = own_account(dora)
    entry = add_entry(customer, carla_account)
    db.session.execute(sa.update(VaultEntry).where(VaultEntry.id == entry.id).values(account_id=dora_account.id))
    db.session.commit()
    with pytest.raises(CannotReveal):
        vault.reveal(dora, dora_account.id, entry.id, "password")


# --------------------------------------------------------------------------- the portal: list, add, edit, reveal

def test_a_member_adds_access_data_and_the_list_shows_no_secret(app, client, customer, carla_account):
    log_in(client, "carla@example.test")
    page = client.get(PAGE)
    assert page.status_code == 200 and "Credential vault" in page.text
    assert page.headers["Cache-Control"] == "private, no-store"
    answer = client.post(PAGE, data={"csrf_token": csrf_token(page.text), "service": "tarhely.eu",
                                     "url": "https://www.tarhely.eu/login", "username": "ugyfel@example.test",
                                     "password": PASSWORD, "notes": NOTES}, follow_redirects=True)
    assert "“tarhely.eu” was added to the credential vault." in answer.text
    assert "tarhely.eu" in answer.text and "ugyfel@example.test" in answer.text
    assert 'href="https://www.tarhely.eu/login"' in answer.text
    assert "Reveal the password" in answer.text and "Reveal the notes" in answer.text
    assert PASSWORD not in answer.text and "PIN 4411" not in answer.text
    assert "Added “tarhely.eu” to the credential vault of Carla Customer." in words(answer)


def test_reveal_without_javascript_answers_the_page_with_that_value_in_place(app, client, customer, carla_account):
    entry = add_entry(customer, carla_account)
    log_in(client, "carla@example.test")

    answer = reveal_form(client, entry.id, "notes")

    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "private, no-store"
    assert "PIN 4411-secret-note" in answer.text and PASSWORD not in answer.text
    assert "Reveal the password" in answer.text
    assert "Revealed the notes of “tarhely.eu” in the credential vault of Carla Customer." in words(answer)
    assert PASSWORD not in client.get(PAGE).text and "PIN 4411" not in client.get(PAGE).text


def test_reveal_with_javascript_answers_the_value_alone(app, client, customer, carla_account):
    entry = add_entry(customer, carla_account)
    log_in(client, "carla@example.test")

    answer = reveal_form(client, entry.id, headers={"Accept": "application/json"})

    assert answer.status_code == 200 and answer.get_json() == {"value": PASSWORD}
    assert answer.headers["Cache-Control"] == "private, no-store"


def test_each_reveal_is_recorded_with_who_which_entry_which_field_and_account(app, client, customer,
                                                                              carla_account):
    entry = add_entry(customer, carla_account)
    log_in(client, "carla@example.test")
    reveal_form(client, entry.id, "password")
    reveal_form(client, entry.id, "password")
    reveal_form(client, entry.id, "notes")

    revealed = [r for r in vault_rows() if r.action == "secret-revealed"]
    assert [(r.actor_id, r.entity_id, r.changes["entry"], r.changes["field"]) for r in revealed] == [
        (customer.id, carla_account.id, entry.id, "password"), (customer.id, carla_account.id, entry.id, "password"),
        (customer.id, carla_account.id, entry.id, "notes")]
    assert [str(s) for told in tell(revealed[-1:]) for s in told.sentences] == [
        "Revealed the notes of “tarhely.eu” in the credential vault of Carla Customer."]


def test_editing_keeps_secrets_left_empty_and_removes_them_when_asked(app, client, customer, carla_account):
    entry = add_entry(customer, carla_account)
    log_in(client, "carla@example.test")
    edit = f"{PAGE}/{entry.id}/edit"
    page = client.get(edit)
    assert page.status_code == 200 and "ugyfelneve.marketing@gmail.com" in page.text
    assert PASSWORD not in page.text and "PIN 4411" not in page.text

    client.post(edit, data={"csrf_token": csrf_token(page.text), "service": "tarhely.eu admin",
                            "url": "https://www.tarhely.eu/", "username": "ugyfelneve.marketing@gmail.com",
                            "password": "", "notes": ""}, follow_redirects=True)
    assert fresh(entry.id).service == "tarhely.eu admin"
    assert vault.reveal(customer, carla_account.id, entry.id, "password") == PASSWORD
    assert vault.reveal(customer, carla_account.id, entry.id, "notes") == NOTES

    answer = client.post(edit, data={"csrf_token": csrf_token(client.get(edit).text), "service": "tarhely.eu admin",
                                     "url": "https://www.tarhely.eu/", "username": "ugyfelneve.marketing@gmail.com",
                                     "password": NEW_PASSWORD, "notes": "", "clear_notes": "y"},
                         follow_redirects=True)
    assert "“tarhely.eu admin” was saved." in answer.text and NEW_PASSWORD not in answer.text
    assert vault.reveal(customer, carla_account.id, entry.id, "password") == NEW_PASSWORD
    assert fresh(entry.id).notes_sealed is None
    assert "Changed the password, the notes of “tarhely.eu admin” in the credential vault of Carla Customer." \
        in words(client.get(PAGE))
    changed = [r.changes for r in vault_rows() if r.action == "entry-changed"]
    assert changed == [{"entry": entry.id, "service": "tarhely.eu admin", "fields": ["service", "url"]},
                       {"entry": entry.id, "service": "tarhely.eu admin", "fields": ["password", "notes"]}]


def test_a_form_shown_again_with_errors_does_not_carry_the_secrets_back(app, client, customer, carla_account):
    log_in(client, "carla@example.test")
    answer = client.post(PAGE, data={"csrf_token": csrf_token(client.get(PAGE).text), "service": "x" * 201,
                                     "password": PASSWORD, "notes": NOTES})
    assert answer.status_code == 400 and "Use at most 200 characters." in answer.text
    assert PASSWORD not in answer.text and "PIN 4411" not in answer.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VaultEntry)) == 0


def test_removing_an_entry_deletes_it_and_says_so_in_the_trail(app, client, customer, carla_account):
    entry = add_entry(customer, carla_account)
    log_in(client, "carla@example.test")
    page = client.get(f"{PAGE}/{entry.id}/edit").text
    answer = client.post(f"{PAGE}/{entry.id}/remove", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "“tarhely.eu” was removed from the credential vault." in answer.text
    assert "The vault is empty." in answer.text
    assert "Removed “tarhely.eu” from the credential vault of Carla Customer." in words(answer)
    assert fresh(entry.id) is None


# --------------------------------------------------------------------------- secrets appear nowhere else

def _everything_stored_except_the_vault() -> str:
    db.session.rollback()
    text = []
    for table in db.metadata.sorted_tables:
        if table.name != "vault_entries":
            text.extend(repr(tuple(row)) for row in db.session.execute(sa.select(table)))
    return "\n".join(text)


def test_secrets_never_reach_logs_mail_the_audit_trail_or_other_pages(app, client, customer, carla_account, smtp,
                                                                      caplog):
    caplog.set_level(logging.DEBUG)
    log_in(client, "carla@example.test")
    pages = [client.post(PAGE, data={"csrf_token": csrf_token(client.get(PAGE).text), "service": "tarhely.eu",
                                     "url": "https://www.tarhely.eu/", "username": "ugyfel@example.test",
                                     "password": PASSWORD, "notes": NOTES}, follow_redirects=True)]
    entry_id = db.session.scalar(sa.select(VaultEntry.id))
    edit = f"{PAGE}/{entry_id}/edit"
    pages.append(client.get(edit))
    pages.append(client.post(edit, data={"csrf_token": csrf_token(pages[-1].text), "service": "tarhely.eu",
                                         "url": "https://www.tarhely.eu/", "username": "ugyfel@example.test",
                                         "password": NEW_PASSWORD, "notes": NOTES}, follow_redirects=True))
    pages.append(client.post(edit, data={"csrf_token": csrf_token(client.get(edit).text), "service": "",
                                         "password": PASSWORD, "notes": NOTES}))  # refused: shown again
    pages.append(client.get(PAGE))
    revealed = reveal_form(client, entry_id, "password")
    assert NEW_PASSWORD in revealed.text
    pages.append(client.get(PAGE))

    secrets = (PASSWORD, NEW_PASSWORD, "PIN 4411-secret-note")
    for page in pages:
        assert not [s for s in secrets if s in page.text], page.request.path
    assert not [s for s in secrets if s in caplog.text]
    assert not [s for s in secrets for m in smtp.messages if s in m.as_string()]
    stored = _everything_stored_except_the_vault()  # the audit rows and the outbox among them
    assert "tarhely.eu" in stored  # the audit rows name the entry
    assert not [s for s in secrets if s in stored]
    assert {r.action for r in vault_rows()} == {"entry-added", "entry-changed", "secret-revealed"}


# --------------------------------------------------------------------------- configuration and rotation

def test_production_without_vault_keys_has_no_vault_rather_than_a_guessable_key(app, client, customer,
                                                                                carla_account):
    entry = add_entry(customer, carla_account)
    log_in(client, "carla@example.test")
    app.config["ENV"] = "production"
    with pytest.raises(VaultUnavailable):
        vault.list_entries(customer, carla_account.id)
    page = client.get(PAGE)
    assert page.status_code == 503 and "encryption keys are not configured" in page.text

    app.config["VAULT_KEYS"] = {"2026-12": key()}  # a production key: values sealed with "dev" no longer open
    assert vault.list_entries(customer, carla_account.id)[0].unreadable
    with pytest.raises(CannotReveal):
        vault.reveal(customer, carla_account.id, entry.id, "password")


def rotate(app, *args):
    from helpdesk.cli import vault_rotate_key

    return app.test_cli_runner().invoke(vault_rotate_key, list(args))


def test_rotate_key_moves_every_value_to_the_current_key_in_batches(app, customer, carla_account):
    old, new = key(), key()
    app.config["VAULT_KEYS"] = {"2026-01": old}
    entries = [add_entry(customer, carla_account, service=f"service {n}", password=f"pw-{n}") for n in range(5)]
    add_entry(customer, carla_account, service="no secrets", username="", password="", notes="")

    app.config["VAULT_KEYS"] = {"2026-12": new, "2026-01": old}
    result = rotate(app, "--batch-size", "2")

    assert result.exit_code == 0, result.output
    assert "batch 1: 2 entries looked at, 6 value(s) sealed again" in result.output
    assert "15 value(s) sealed again from key 2026-01 to key 2026-12" in result.output
    assert "no value is sealed with 2026-01 any more: remove it from VAULT_KEYS" in result.output
    app.config["VAULT_KEYS"] = {"2026-12": new}  # the old key removed: everything still opens
    db.session.rollback()
    for n, entry in enumerate(entries):
        assert vault.reveal(customer, carla_account.id, entry.id, "password") == f"pw-{n}"
    assert {row.service: row.username for row in vault.list_entries(customer, carla_account.id)} == {
        **{f"service {n}": "ugyfelneve.marketing@gmail.com" for n in range(5)}, "no secrets": None}

    again = rotate(app)  # idempotent: nothing left to do
    assert again.exit_code == 0 and "no value was under an older key" in again.output


def test_rotate_key_stopped_half_way_resumes_and_readers_keep_working(app, customer, carla_account):
    from helpdesk.vault import rotation

    old, new = key(), key()
    app.config["VAULT_KEYS"] = {"old": old}
    entries = [add_entry(customer, carla_account, service=f"s{n}", password=f"pw-{n}") for n in range(4)]
    app.config["VAULT_KEYS"] = {"new": new, "old": old}

    class Stop(Exception):
        pass

    def reader_then_crash(report):
        # Between batches the vault is in use: both kinds of value open.
        assert [vault.reveal(customer, carla_account.id, e.id, "password") for e in entries] == \
            [f"pw-{n}" for n in range(4)]
        raise Stop()

    with pytest.raises(Stop):
        rotation.rotate_key(batch_size=2, progress=reader_then_crash)
    db.session.rollback()
    assert rotation.keys_in_use() == {"new": 6, "old": 6}  # the first batch was committed

    result = rotate(app, "--batch-size", "3")
    assert result.exit_code == 0 and "6 value(s) sealed again from key old to key new" in result.output
    assert rotation.keys_in_use() == {"new": 12}


def test_rotate_key_leaves_values_whose_key_is_missing_and_says_so(app, customer, carla_account, caplog):
    app.config["VAULT_KEYS"] = {"lost": key()}
    entry = add_entry(customer, carla_account)
    app.config["VAULT_KEYS"] = {"new": key()}

    result = rotate(app)

    assert result.exit_code == 1
    assert "3 value(s) under key lost did not open" in result.output
    assert f"vault entry {entry.id}: the password does not open with key 'lost'" in caplog.text
    assert PASSWORD not in caplog.text and PASSWORD not in result.output
    assert fresh(entry.id).password_sealed.startswith("v1:lost:")


def test_renaming_an_entry_whose_values_do_not_open_keeps_them(app, client, customer, carla_account):
    app.config["VAULT_KEYS"] = {"lost": key()}
    entry = add_entry(customer, carla_account)
    sealed = (entry.username_sealed, entry.password_sealed, entry.notes_sealed)
    app.config["VAULT_KEYS"] = {"new": key()}
    log_in(client, "carla@example.test")
    edit = f"{PAGE}/{entry.id}/edit"
    page = client.get(edit)
    assert page.status_code == 200 and "cannot be read" in client.get(PAGE).text

    client.post(edit, data={"csrf_token": csrf_token(page.text), "service": "tarhely.eu (old)",
                            "url": "https://www.tarhely.eu/", "username": "", "password": "", "notes": ""})

    kept = fresh(entry.id)
    assert kept.service == "tarhely.eu (old)"
    assert (kept.username_sealed, kept.password_sealed, kept.notes_sealed) == sealed
