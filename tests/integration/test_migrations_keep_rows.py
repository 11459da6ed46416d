"""Upgrades keep every row. On SQLite, Alembic's batch operations copy a table and drop the old one; with foreign
keys enforced, that drop deleted the rows referring to the table through ON DELETE CASCADE (0026 emptied
account_memberships, 0029 billing_product_prices) or was refused (0022 and 0030 with billing rows). These tests
fill a database at an old revision with rows that refer to each table a later migration copies, upgrade to the
newest, and count them."""
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from helpdesk.extensions import db
from tests.conftest import make_app
from tests.integration.test_account_records import _fill_0024, _insert

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _counts(conn, *tables):
    return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() for table in tables}


def _insert_with_texts(conn, table, texts, **values):
    """``_insert`` for a table with a JSON ``texts`` column (typed, so both drivers bind it)."""
    columns = [sa.column(name) for name in values]
    return conn.execute(sa.table(table, sa.column("id"), sa.column("texts", sa.JSON), *columns).insert()
                        .values(texts=texts, **values).returning(sa.column("id"))).scalar_one()


def _fill_catalogue(conn):
    group = _insert_with_texts(conn, "billing_product_groups", {"en": {"name": "Hosting"}}, code="hosting",
                               position=0, visible=True, created_at=NOW)
    product = _insert_with_texts(conn, "billing_products", {"en": {"name": "Start"}}, group_id=group, code="start",
                                 kind="package", active=True, taxable=True, position=0, created_at=NOW)
    _insert(conn, "billing_product_prices", product_id=product, cycle="yearly", currency="HUF", amount=1_200_000,
            setup_fee=0, includes_tax=False)


def test_an_upgrade_from_0021_keeps_the_rows_that_refer_to_a_copied_billing_account(blank_database, tmp_path):
    from flask_migrate import upgrade

    app = make_app(blank_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0021")
        with db.engine.begin() as conn:
            user = _insert(conn, "users", email="olga@bakery.example", full_name="Olga", role="customer",
                           created_at=NOW)
            account = _insert(conn, "billing_accounts", user_id=user, name="Olga", address="", country="HU",
                              customer_type="individual", tax_number="", tax_office="", currency="HUF",
                              created_at=NOW, updated_at=NOW)
            _insert(conn, "billing_credit_balances", account_id=account, currency="HUF", balance=5000)
            _fill_catalogue(conn)
        upgrade()
        with db.engine.connect() as conn:
            assert _counts(conn, "billing_accounts", "billing_credit_balances", "billing_product_prices") == {
                "billing_accounts": 1, "billing_credit_balances": 1, "billing_product_prices": 1}
            assert conn.execute(sa.text("SELECT balance FROM billing_credit_balances")).scalar() == 5000
        db.engine.dispose()


def test_an_upgrade_from_0024_keeps_memberships_prices_credit_and_ticket_participants(blank_database, tmp_path):
    from flask_migrate import upgrade

    app = make_app(blank_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0024")
        with db.engine.begin() as conn:
            _fill_0024(conn)
            _fill_catalogue(conn)
        upgrade(revision="0025")
        with db.engine.connect() as conn:
            made = _counts(conn, "account_memberships")["account_memberships"]
        assert made == 2  # Olga's and Otto's own accounts
        upgrade()
        with db.engine.connect() as conn:
            counts = _counts(conn, "account_memberships", "billing_product_prices", "billing_credit_balances",
                             "participants")
            assert counts == {"account_memberships": 2, "billing_product_prices": 1, "billing_credit_balances": 1,
                              "participants": 3}
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # enforced again afterwards
        db.engine.dispose()


@pytest.mark.parametrize("revision", ["0026", "0029"])
def test_a_migration_that_would_break_a_foreign_key_is_rolled_back(blank_database, tmp_path, revision, backend):
    """The check before the commit: a row pointing nowhere stops the upgrade, and the database stays where it
    was (on PostgreSQL the database itself refuses such rows)."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL enforces foreign keys inside the migration itself")
    from flask_migrate import upgrade

    app = make_app(blank_database, tmp_path / "instance")
    previous = f"{int(revision) - 1:04d}"
    with app.app_context():
        upgrade(revision=previous)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only takes effect outside a transaction: no-op here
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
            raw.driver_connection.execute(
                "INSERT INTO account_memberships (account_id, user_id, is_owner, can_tickets, can_billing, "
                "can_services, can_vault_view, can_vault_edit, can_members, created_at) "
                "VALUES (999, 999, 1, 1, 1, 1, 1, 1, 1, '2026-01-05 09:00:00')")
            raw.driver_connection.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()
        with pytest.raises(SystemExit):  # flask-migrate logs the error and exits non-zero
            upgrade(revision=revision)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == previous
        db.engine.dispose()
