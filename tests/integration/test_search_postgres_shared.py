"""test_search_backend's tests run again with SEARCH_BACKEND = "postgresql": Persian letters and digits in
tickets and articles, the access rule as a search filter, old job paths. Left out: the tests that choose
the backend themselves."""
import pytest

from tests.integration import test_search_backend
from tests.integration.test_search_postgres import app_factory, rerun  # noqa: F401 (the fixture)

pytestmark = pytest.mark.backends("postgresql")

rerun(globals(), test_search_backend, left_out={
    "test_search_backend_setting_decides_which_backend_every_caller_reaches",
    "test_an_unknown_search_backend_is_refused_by_name"})
editor, folder = test_search_backend.editor, test_search_backend.folder
