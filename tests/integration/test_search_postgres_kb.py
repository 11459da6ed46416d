"""The knowledge base's search tests (test_kb_service) run again with SEARCH_BACKEND = "postgresql":
languages and the default-language fall-back, Turkish and Hungarian word forms, typos, drafts and audience."""
import pytest

from tests.integration import test_kb_service
from tests.integration.test_search_postgres import app_factory, rerun  # noqa: F401 (the fixture)

pytestmark = pytest.mark.backends("postgresql")

rerun(globals(), test_kb_service, only={
    "test_readers_get_their_language_falling_back_to_the_default_and_search_follows",
    "test_turkish_and_hungarian_texts_are_found_by_other_forms_of_their_words",
    "test_a_short_query_with_a_typo_still_finds_the_article", "test_a_draft_is_seen_by_editors_in_the_console_only",
    "test_folder_visibility_limits_readers", "test_an_article_under_an_internal_parent_stays_internal"})
editor, folder = test_kb_service.editor, test_kb_service.folder
