"""The knowledge base pages' search tests (test_kb_web) run again with SEARCH_BACKEND = "postgresql": the
search page's highlights, titles as text, audiences, the ticket form's suggestions while typing, German
readers."""
import pytest

from tests.integration import test_kb_web
from tests.integration.test_search_postgres import app_factory, rerun  # noqa: F401 (the fixture)

pytestmark = pytest.mark.backends("postgresql")

rerun(globals(), test_kb_web, only={
    "test_search_page_highlights_the_words_found", "test_a_title_found_by_its_body_is_shown_as_text_not_markup",
    "test_drafts_customers_only_and_internal_articles_stay_where_they_belong",
    "test_ticket_form_offers_matching_articles",
    "test_german_reader_gets_the_german_text_and_english_where_there_is_none"})
editor, folder, toner = test_kb_web.editor, test_kb_web.folder, test_kb_web.toner
