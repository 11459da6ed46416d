"""Every table is known to the app from the installed packages' declarations alone: a module defining tables
that no package names would be missing from the metadata, and autogenerate would offer to drop its table."""
import json
import subprocess
import sys
import textwrap
import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from helpdesk.extensions import db

# Expression indexes written by hand in migration 0011 (see tickets/models.py), not declared on the models.
MIGRATION_ONLY_INDEXES = {"ix_tickets_open_urgency_activity", "ix_tickets_closed_urgency_activity"}
# The PostgreSQL search backend's table: made by migration 0042 on PostgreSQL only (tsvector, GIN), written and
# read with SQL of its own (helpdesk/search/postgres_backend.py), so no model declares it.
MIGRATION_ONLY_TABLES = {"search_documents"}
# Run in a fresh interpreter: this test session has imported every module long since.
_PROBE = textwrap.dedent("""
    import importlib, json, pkgutil, sys, warnings

    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import upgrade

    import helpdesk
    from helpdesk.extensions import db

    url, instance = sys.argv[1:3]
    app = helpdesk.create_app("testing", {"DATABASE_URL": url, "INSTANCE_PATH": instance, "REDIS_URL": ""})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn, warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)  # expression indexes are not reflected on SQLite
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    registered = sorted(db.metadata.tables)
    for module in pkgutil.walk_packages(helpdesk.__path__, "helpdesk."):
        if not module.name.startswith("helpdesk.migrations"):
            importlib.import_module(module.name)
    declared = {*helpdesk.KERNEL_MODELS, *(f"{name}.{module}" for name in helpdesk.INSTALLED_PACKAGES
                                           for module in getattr(importlib.import_module(name), "MODELS", ()))}
    print(json.dumps({
        "undeclared": sorted({mapper.class_.__module__ for mapper in db.Model.registry.mappers} - declared),
        "registered": registered,
        "defined": {mapper.local_table.name: mapper.class_.__module__ for mapper in db.Model.registry.mappers},
        "tables": sorted(db.metadata.tables),
        "missing_from_metadata": [repr(change) for change in diff if change[0] == "remove_table"],
    }))
""")


def test_every_module_defining_tables_is_reached_from_the_installed_packages(tmp_path):
    done = subprocess.run([sys.executable, "-c", _PROBE, f"sqlite:///{tmp_path / 'probe.db'}", str(tmp_path / "i")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])

    assert found["undeclared"] == [], "name these modules in their package's MODELS (see helpdesk.INSTALLED_PACKAGES)"
    unreached = {table: module for table, module in found["defined"].items() if table not in found["registered"]}
    assert unreached == {}
    assert found["registered"] == found["tables"]
    assert found["missing_from_metadata"] == []


def test_the_migrations_make_exactly_the_tables_the_models_declare(app):
    with db.engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)  # expression indexes are not reflected on SQLite
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)

    assert [change for change in diff
            if not (change[0] == "remove_index" and change[1].name in MIGRATION_ONLY_INDEXES)
            and not (change[0] == "remove_table" and change[1].name in MIGRATION_ONLY_TABLES)
            and not (change[0] == "remove_index" and change[1].table.name in MIGRATION_ONLY_TABLES)] == []
