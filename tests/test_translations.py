"""The English catalogue is complete, keeps its placeholders and is compiled from the current .po."""

from __future__ import annotations

import gettext as gnu_gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext, override

import civicgrid

CATALOGUE = Path(civicgrid.__file__).parent / "locale" / "en" / "LC_MESSAGES"
PO_FILE = CATALOGUE / "django.po"
MO_FILE = CATALOGUE / "django.mo"

PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+"(.*)"$')


@dataclass
class Entry:
    """One message of a .po file: its flags, context, source and translation(s)."""

    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    line: int = 0

    @property
    def translations(self) -> list[str]:
        return [self.msgstr[index] for index in sorted(self.msgstr)]


def unescape(quoted: str) -> str:
    """The text of a .po string literal without its quotes (C-style escapes)."""
    return re.sub(r"\\(.)", lambda match: ESCAPES.get(match.group(1), match.group(1)), quoted)


def parse_po(text: str) -> list[Entry]:
    """Every message in `text`, the header included, obsolete (`#~`) entries left out."""
    entries: list[Entry] = []
    current = Entry()
    key: str | None = None  # the keyword a continuation line ("...") appends to

    def finish() -> None:
        nonlocal current, key
        if key is not None:
            entries.append(current)
        current, key = Entry(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#"):
            if key is not None and key.startswith("msgstr"):
                finish()  # a comment after a complete entry starts the next one
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
        elif line.startswith('"'):
            assert key is not None, f"line {number}: continuation line outside an entry"
            assign(current, key, unescape(line[1:-1]), append=True)
        else:
            match = KEYWORD.match(line)
            assert match is not None, f"line {number}: cannot parse {raw!r}"
            if match.group(1) in ("msgctxt", "msgid") and key is not None and key.startswith("msgstr"):
                finish()
            key = match.group(1)
            if key in ("msgctxt", "msgid") and not current.line:
                current.line = number
            assign(current, key, unescape(match.group(2)), append=False)
    finish()
    return entries


def assign(entry: Entry, key: str, value: str, *, append: bool) -> None:
    if key == "msgctxt":
        entry.msgctxt = (entry.msgctxt or "") + value if append else value
    elif key == "msgid":
        entry.msgid = entry.msgid + value if append else value
    elif key == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + value if append else value
    else:
        index = int(key[7:-1]) if key.startswith("msgstr[") else 0
        entry.msgstr[index] = entry.msgstr.get(index, "") + value if append else value


def messages() -> list[Entry]:
    """The translatable messages of the English catalogue (the header left out)."""
    return [entry for entry in parse_po(PO_FILE.read_text(encoding="utf-8")) if entry.msgid]


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_it_parses_continuation_lines_and_escapes() -> None:
    text = (
        "#: a.py:1\n"
        "#, fuzzy, python-format\n"
        'msgid ""\n'
        '"first %(n)s "\n'
        '"second \\"quoted\\"\\n"\n'
        'msgstr "one"\n'
        '" two"\n'
        "#: b.py:2\n"
        'msgctxt "ctx"\n'
        'msgid "x"\n'
        'msgid_plural "xs"\n'
        'msgstr[0] "y"\n'
        'msgstr[1] "ys"\n'
    )

    first, second = parse_po(text)

    assert first.msgid == 'first %(n)s second "quoted"\n'
    assert first.msgstr == {0: "one two"}
    assert first.flags == {"fuzzy", "python-format"}
    assert (second.msgctxt, second.msgid, second.msgid_plural) == ("ctx", "x", "xs")
    assert second.translations == ["y", "ys"]
    assert not second.flags


def test_it_finds_the_catalogue_messages() -> None:
    found = messages()

    assert len(found) > 200
    assert any(entry.msgid == "待受理" for entry in found)


def test_it_translates_every_message_and_flags_none_fuzzy() -> None:
    found = messages()
    header = parse_po(PO_FILE.read_text(encoding="utf-8"))[0]

    untranslated = [entry.msgid for entry in found if not all(entry.translations) or not entry.msgstr]
    fuzzy = [entry.msgid for entry in found if "fuzzy" in entry.flags]

    assert untranslated == []
    assert fuzzy == []
    assert "fuzzy" not in header.flags


def test_it_keeps_the_same_named_placeholders_in_every_translation() -> None:
    mismatched = [
        (entry.msgid, translation)
        for entry in messages()
        for translation in entry.translations
        if placeholders(entry.msgid) | placeholders(entry.msgid_plural or "") != placeholders(translation)
    ]

    assert mismatched == []


def test_it_ships_a_compiled_catalogue_matching_the_po_file() -> None:
    with MO_FILE.open("rb") as compiled:
        catalogue = gnu_gettext.GNUTranslations(compiled)

    stale: list[tuple[int, str, list[str], list[str]]] = []
    for entry in messages():
        if entry.msgid_plural is not None:
            got = [
                catalogue.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                if entry.msgctxt is not None
                else catalogue.ngettext(entry.msgid, entry.msgid_plural, n)
                for n in (1, 2)
            ]
            want = [entry.msgstr[0], entry.msgstr.get(1, entry.msgstr[0])]
        else:
            got = [
                catalogue.pgettext(entry.msgctxt, entry.msgid)
                if entry.msgctxt is not None
                else catalogue.gettext(entry.msgid)
            ]
            want = [entry.msgstr[0]]
        if got != want:
            stale.append((entry.line, entry.msgid, want, got))

    assert stale == [], "django.mo is out of date: run msgfmt --check -o django.mo django.po"


def test_it_shows_statuses_in_english_when_english_is_active() -> None:
    with override("en"):
        assert gettext("待受理") == "Submitted"
        assert gettext("举报") == "Report (confidential)"
    with override("zh-hans"):
        assert gettext("待受理") == "待受理"
