"""Ticket search's behaviour tests (test_search, and the details search of test_ticket_details) run again with
SEARCH_BACKEND = "postgresql": found by later messages, participants, notes for agents only, filters,
visibility, highlighted snippets, accents, the ranking window, rebuilds in batches.

Left out: the tests of Whoosh's folders and recent tier (a deleted index folder, a restarted app's folder,
the recent tier: this backend has none) and those whose CLI or worker subprocess gets its settings from the
original fixtures' environment (their PostgreSQL counterparts are in test_search_postgres.py)."""
import pytest

from tests.integration import test_search, test_ticket_details
from tests.integration.test_search_postgres import app_factory, rerun  # noqa: F401 (the fixture)

pytestmark = pytest.mark.backends("postgresql")

rerun(globals(), test_search, left_out={
    "test_search_rebuild_recreates_a_deleted_index", "test_index_survives_an_application_restart",
    "test_with_redis_the_search_worker_updates_the_index_after_commit",
    "test_a_mail_batch_is_indexed_by_one_search_job_for_all_its_tickets",
    "test_words_in_too_many_tickets_are_searched_among_the_recently_active",
    "test_search_page_says_when_only_recent_tickets_were_searched", "test_the_recent_tier_is_rebuilt_and_pruned"})
rerun(globals(), test_ticket_details,
      only={"test_search_finds_a_ticket_by_its_server_ip_order_reference_or_diagnostics"})
ticket = test_search.ticket
