"""The one folding that ticket and knowledge base search share: a word typed without its accents, in the
other Persian/Arabic letter form or in another digit script meets the word as written, in all five
languages, and the ticket index's and the knowledge base's analysers agree on it."""
import pytest

from helpdesk.search.folding import fold
from helpdesk.search.whoosh_backend import terms


@pytest.mark.parametrize(("written", "typed"), [
    ("Printer", "printer"),  # en
    ("Résumé café naïve", "resume cafe naive"),  # en, borrowed accents
    ("Größenänderung der Straße", "grossenanderung der strasse"),  # de
    ("Überweisung prüfen", "uberweisung prufen"),  # de
    ("yazıcı çalışmıyor şubesinde", "yazici calismiyor subesinde"),  # tr
    ("Árvíztűrő tükörfúrógép", "arvizturo tukorfurogep"),  # hu
    ("كتاب‌هاي", "کتابهای"),  # fa: Arabic kaf and yeh, zero-width non-joiner
    ("مدل ۵۰۰", "مدل 500"),  # fa: Persian digits
    ("مدل ٥٠٠", "مدل 500"),  # Arabic-Indic digits
    ("أحمد إسلام آب", "احمد اسلام اب"),  # alef with hamza or madda
    ("خانهٔ مدرسة", "خانه مدرسه"),  # heh with hamza above (a mark), teh marbuta
    ("كـــتاب", "کتاب"),  # tatweel
    ("Łódź Øresund", "lodz oresund"),  # letters without a decomposition
])
def test_a_word_meets_its_other_spellings(written, typed):
    assert fold(written) == fold(typed)


def test_turkish_capital_i_folds_the_turkish_way_in_turkish():
    assert fold("İSTANBUL", "tr") == fold("istanbul") == "istanbul"
    assert fold("IŞIK", "tr") == fold("ışık") == "isik"


@pytest.mark.parametrize(("language", "written", "typed"), [
    ("en", "Printer café", "printer cafe"),
    ("de", "Schlüssel Größe", "Schlussel grosse"),
    ("tr", "İstanbul yazıcısı", "istanbul yazicisi"),
    ("hu", "tükörfúrógép számla", "tukorfurogep szamla"),
    ("fa", "كتاب‌هاي مدل ۵۰۰", "کتابهای مدل 500"),
])
def test_knowledge_base_and_ticket_analysers_fold_alike(language, written, typed):
    assert terms(language, written) == terms(language, typed)
    assert terms("neutral", written) == terms("neutral", typed)
    assert terms("people", written) == terms("people", typed)


def test_digits_of_every_script_become_one_term():
    assert terms("neutral", "۱۴۰۲ ١٤٠٢ 1402") == ["1402", "1402", "1402"]
    assert terms("fa", "مدل ۵۰۰") == ["مدل", "500"]
