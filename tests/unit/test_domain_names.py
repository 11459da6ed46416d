"""Domain names are normalised and checked before any network call: what people paste (capitals, spaces, a URL,
www., a trailing dot) becomes the registry's ASCII name, IDNs become punycode and read back in Unicode, and
labels, lengths, hyphens and name servers are refused when a registry would refuse them."""
import pytest

from helpdesk.domains.names import parse_name, parse_nameservers, split_label, with_tld
from helpdesk.errors import ValidationFailed

TLDS = ["com", "hu", "co.uk"]


@pytest.mark.parametrize("typed, ascii_name", [
    ("Sparrow.HU", "sparrow.hu"), ("  sparrow.hu.  ", "sparrow.hu"), ("https://www.sparrow.hu/kapcsolat", "sparrow.hu"),
    ("sparrow-web.co.uk", "sparrow-web.co.uk"), ("XN--RVZTR-WQA0GX3BWI.hu", "xn--rvztr-wqa0gx3bwi.hu"),
])
def test_typed_names_become_the_registrys_ascii_name(typed, ascii_name):
    assert parse_name(typed).ascii == ascii_name


def test_an_idn_becomes_punycode_and_reads_back_in_unicode():
    name = parse_name("Árvíztűrő.hu")
    assert name.ascii == "xn--rvztr-wqa0gx3bwi.hu"
    assert name.unicode == "árvíztűrő.hu"
    assert parse_name("bücher.de").ascii == "xn--bcher-kva.de"


@pytest.mark.parametrize("typed", [
    "", "   ", "-sparrow.hu", "sparrow-.hu", "spar row.hu", "sparrow..hu", "spar_row.hu", "ab--cd.hu",
    "a" * 64 + ".hu", ".".join(["a" * 63] * 4) + ".hu", "sparrow", "spar\u2603row.hu", "<script>.hu",
])
def test_invalid_names_are_refused_before_the_network(typed):
    with pytest.raises(ValidationFailed) as refused:
        parse_name(typed)
    assert set(refused.value.errors) == {"name"}


def test_the_check_form_takes_a_label_or_a_name_under_an_offered_tld():
    label, tld = split_label("Sparrow", TLDS)
    assert (label.ascii, tld) == ("sparrow", None)
    label, tld = split_label("sparrow.co.uk", TLDS)
    assert (label.ascii, tld) == ("sparrow", "co.uk")
    assert with_tld(label, "hu").ascii == "sparrow.hu"
    for typed in ("sparrow.xyz", "shop.sparrow.hu", ""):
        with pytest.raises(ValidationFailed):
            split_label(typed, TLDS)


def test_a_label_too_long_for_a_tld_is_refused():
    label, _tld = split_label("a" * 63, TLDS)
    assert with_tld(label, "hu").ascii == "a" * 63 + ".hu"


def test_name_servers_two_to_four_distinct_host_names():
    assert parse_nameservers(["NS1.Example.com", "", "ns2.example.com", "ns1.example.com."]) == [
        "ns1.example.com", "ns2.example.com"]
    for servers in (["ns1.example.com"], ["ns1.example.com", "ns1.example.com"], [f"ns{i}.example.com" for i in
                                                                                  range(5)],
                    ["ns1.example.com", "not a host"], ["ns1.example.com", "localhost"]):
        with pytest.raises(ValidationFailed) as refused:
            parse_nameservers(servers)
        assert set(refused.value.errors) == {"nameservers"}
