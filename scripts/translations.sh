#!/usr/bin/env bash
# Keeps the translation catalogues in step with the code.
#
#   scripts/translations.sh update   extract the strings, merge them into every catalogue, compile the .mo files
#   scripts/translations.sh check    fail if the committed .pot, .po or .mo files lag behind the code (CI, tests)
#   scripts/translations.sh compare A.mo B.mo
#                                    fail unless two compiled catalogues hold the same messages
#
# The check compares what the .mo files *say*, not their bytes: a new Babel release writes a different
# "Generated-By" header (or orders the file differently) and must not make the committed catalogues stale.
#
# The languages are the keys of LANGUAGES in helpdesk/i18n.py, less English (the language of the msgids).
set -euo pipefail

cd "$(dirname "$0")/.."

DIR=helpdesk/translations
POT=$DIR/messages.pot

if [[ -x .venv/bin/pybabel ]]; then
    PYBABEL=.venv/bin/pybabel
    PYTHON=(.venv/bin/python)
elif command -v pybabel >/dev/null; then
    PYBABEL=pybabel
    # The interpreter that runs pybabel is the one that can import babel.
    read -r -a PYTHON <<<"$(sed -n '1s/^#! *//p' "$(command -v pybabel)")"
    if ! "${PYTHON[@]:-false}" -c "import babel" 2>/dev/null; then
        PYTHON=(python3)
    fi
else
    echo "pybabel not found: run 'make install-test' (or pip install Babel)" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

usage() {
    echo "usage: $0 update|check|compare A.mo B.mo" >&2
    exit 2
}

languages() {
    # Read, not import: the check must not depend on the app's dependencies being importable.
    "${PYTHON[@]}" - <<'EOF'
import ast, pathlib
tree = ast.parse(pathlib.Path("helpdesk/i18n.py").read_text(encoding="utf-8"))
for node in tree.body:
    if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "LANGUAGES" for t in node.targets):
        print(" ".join(code for code in ast.literal_eval(node.value) if code != "en"))
EOF
}

extract() {
    # Locations name the file only and the output is sorted, so moving code around does not churn the diff.
    "$PYBABEL" -q extract -F babel.cfg \
        -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
        --add-comments=TRANSLATORS: --add-location=file --sort-output \
        --project=helpdesk --version="$(sed -n 's/^version *= *//p' setup.cfg)" \
        --copyright-holder="the helpdesk authors" \
        -o "$1" .
}

# Checks a set of catalogues against the strings in the code. Arguments: code.pot committed.pot lang...
# Prints one line per problem; exits 1 if there is any.
check_catalogues() {
    "${PYTHON[@]}" - "$@" <<'EOF'
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

code_pot, committed_pot, *languages = sys.argv[1:]
NAMED = re.compile(r"%\((\w+)\)[#0 +\-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")
problems = []


def load(path, locale=None):
    with open(path, "rb") as f:
        return read_po(f, locale=locale)


def key(message):
    return (message.context, message.id)


def label(message):
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return repr(msgid) + (f" (context {message.context!r})" if message.context else "")


def placeholders(text):
    return sorted(set(m.group(0) for m in NAMED.finditer(text or "")))


code = {key(m): m for m in load(code_pot) if m.id}
committed = {key(m): m for m in load(committed_pot) if m.id}
for k in sorted(code.keys() - committed.keys(), key=str):
    problems.append(f"{committed_pot}: missing {label(code[k])}")
for k in sorted(committed.keys() - code.keys(), key=str):
    problems.append(f"{committed_pot}: no longer in the code: {label(committed[k])}")

for lang in languages:
    po_path = Path(committed_pot).parent / lang / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        problems.append(f"{po_path}: missing")
        continue
    catalog = load(po_path, locale=lang)
    if catalog.fuzzy:
        problems.append(f"{po_path}: the header is marked fuzzy (remove '#, fuzzy' above msgid \"\")")
    for k, wanted in sorted(code.items(), key=lambda item: str(item[0])):
        message = catalog.get(wanted.id, context=wanted.context)
        if message is None:
            problems.append(f"{po_path}: missing {label(wanted)}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            problems.append(f"{po_path}: untranslated {label(wanted)}")
        elif message.fuzzy:
            problems.append(f"{po_path}: fuzzy (check it, then remove the flag) {label(wanted)}")
        else:
            # The last form serves the general case, so it keeps exactly the placeholders of the (plural)
            # msgid; other plural forms may drop one (a language can say "one ticket" without the number).
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            expected = placeholders(ids[-1])
            allowed = set(placeholders(" ".join(ids)))
            for index, string in enumerate(strings):
                found = placeholders(string)
                last = index == len(strings) - 1
                if (last and found != expected) or not set(found) <= allowed:
                    problems.append(f"{po_path}: placeholders {found} instead of {expected} "
                                    f"in the translation of {label(wanted)}")

for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
EOF
}

# Exits 0 if two .mo files hold the same translations and plural rule, whatever wrote them; otherwise
# prints what differs and exits 1. Arguments: expected.mo committed.mo
same_messages() {
    "${PYTHON[@]}" - "$@" <<'EOF'
import sys

from babel.messages.mofile import read_mo


def frozen(value):
    return tuple(value) if isinstance(value, list | tuple) else value  # plural ids and strings come as lists


def meaning(path):
    with open(path, "rb") as f:
        catalog = read_mo(f)
    messages = {(m.context, frozen(m.id)): frozen(m.string) for m in catalog if m.id}
    return catalog.plural_forms, messages


expected_path, committed_path = sys.argv[1:]
expected_plural, expected = meaning(expected_path)
committed_plural, committed = meaning(committed_path)
differences = []
if expected_plural != committed_plural:
    differences.append(f"plural forms {committed_plural!r} instead of {expected_plural!r}")
for key in sorted(expected.keys() | committed.keys(), key=repr):
    if expected.get(key) != committed.get(key):
        context, msgid = key
        label = repr(msgid) + (f" (context {context!r})" if context else "")
        if key not in committed:
            differences.append(f"missing {label}")
        elif key not in expected:
            differences.append(f"not in the .po: {label}")
        else:
            differences.append(f"{label}: {committed[key]!r} instead of {expected[key]!r}")
for difference in differences[:10]:
    print(f"  {difference}")
if len(differences) > 10:
    print(f"  ... and {len(differences) - 10} more")
sys.exit(1 if differences else 0)
EOF
}

update() {
    local langs lang po
    extract "$tmp/messages.pot"
    # Only the creation date differs when no string changed: keep the committed file then.
    if [[ -f $POT ]] && diff -q <(grep -v '^"POT-Creation-Date:' "$POT") \
                                 <(grep -v '^"POT-Creation-Date:' "$tmp/messages.pot") >/dev/null; then
        echo "$POT is up to date"
    else
        mv "$tmp/messages.pot" "$POT"
        echo "wrote $POT"
    fi

    langs=$(languages)
    for lang in $langs; do
        po=$DIR/$lang/LC_MESSAGES/messages.po
        if [[ -f $po ]]; then
            "$PYBABEL" -q update -i "$POT" -d "$DIR" -l "$lang" --ignore-obsolete --ignore-pot-creation-date
        else
            "$PYBABEL" init -i "$POT" -d "$DIR" -l "$lang"
        fi
        # A catalogue whose header is still fuzzy (fresh from init) is not compiled; pybabel says so.
        "$PYBABEL" compile -d "$DIR" -l "$lang" --statistics || true
    done

    # shellcheck disable=SC2086
    if check_catalogues "$POT" "$POT" $langs >"$tmp/todo"; then
        echo "all catalogues are complete"
    else
        echo
        echo "entries still to translate or review (remove the fuzzy flag once checked), then run '$0 update' again:"
        cut -d: -f1 "$tmp/todo" | sort | uniq -c
        echo "'$0 check' lists them one by one."
    fi
}

check() {
    local langs lang po mo failed=0
    if [[ ! -f $POT ]]; then
        echo "$POT is missing: run '$0 update'"
        return 1
    fi
    extract "$tmp/messages.pot"
    langs=$(languages)
    # shellcheck disable=SC2086
    if ! check_catalogues "$tmp/messages.pot" "$POT" $langs; then
        failed=1
    fi
    for lang in $langs; do
        po=$DIR/$lang/LC_MESSAGES/messages.po
        mo=$DIR/$lang/LC_MESSAGES/messages.mo
        [[ -f $po ]] || continue
        # Compare with a fresh compile rather than by age: git does not keep modification times.
        if ! "$PYBABEL" -q compile -i "$po" -o "$tmp/$lang.mo" -l "$lang" >"$tmp/compile.log" 2>&1; then
            echo "$po: does not compile:"
            cat "$tmp/compile.log"
            failed=1
        elif [[ ! -f $mo ]]; then
            echo "$mo: missing"
            failed=1
        elif ! same_messages "$tmp/$lang.mo" "$mo" >"$tmp/differences"; then
            echo "$mo: its messages differ from what $po compiles to:"
            cat "$tmp/differences"
            failed=1
        fi
    done
    if ((failed)); then
        echo
        echo "translations are out of date: run '$0 update', translate what it lists, and commit the"
        echo "changed files under $DIR/"
        return 1
    fi
    echo "translations are up to date ($(wc -w <<<"$langs") languages)"
}

case ${1:-} in
    update) update ;;
    check) check ;;
    compare) [[ $# -eq 3 ]] || usage; same_messages "$2" "$3" ;;
    *) usage ;;
esac
