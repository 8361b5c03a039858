"""Property tests of the domain-name rules (core.domains): any text either becomes a valid, normalised ASCII
name or is refused with one UsageError line; nothing else ever comes out.

Derandomized (the same cases on every run); ``ZT_PROPS_SCALE=10`` runs ten times as many, and
``ZT_PROPS_RANDOM=1`` draws new ones.
"""

from __future__ import annotations

import re

from helpers import examples, one_line_message
from hypothesis import example, given
from hypothesis import strategies as st

from zerossl_tui.core.domains import MAX_NAMES, normalize_domains, validate_entry_name, validate_name
from zerossl_tui.core.errors import UsageError

LDH = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


# Text that looks like a domain now and then: dots, hyphens, letters, digits, and everything else.
name_chars = st.one_of(
    st.sampled_from("abcxyzABCXYZ0123456789-.*_ "),
    st.characters(codec="utf-8"),
    st.sampled_from(["\u00e4", "\u00df", "\u0130", "\u200b", "\ufb01", "\u212a", "\uff0e", "\u3002", "\t", "\n",
                    "\udcff", "\x00"]),
)
domainish = st.text(name_chars, max_size=80) | st.lists(
    st.text(name_chars, min_size=0, max_size=70), min_size=1, max_size=6).map(".".join)
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
label = st.sampled_from(ALNUM) | st.builds(lambda first, middle, last: first + middle + last,
                                           st.sampled_from(ALNUM), st.text(ALNUM + "-", max_size=12),
                                           st.sampled_from(ALNUM))
valid_name = st.lists(label, min_size=2, max_size=4).map(".".join).filter(lambda n: len(n) <= 253)


@examples(2500)
@given(domainish, st.booleans())
@example("xn--nxasmq6b.example", False)
@example("\u0130stanbul.example", False)
@example("a" * 63 + ".b", False)
@example("*.example.com", True)
def test_any_text_is_a_normalised_name_or_one_usage_error(text: str, wildcard: bool) -> None:
    try:
        name = validate_name(text, allow_wildcard=wildcard)
    except UsageError as exc:
        one_line_message(exc)
        return
    assert name.isascii() and name == name.lower() and len(name) <= 253
    labels = name.split(".")
    if wildcard and labels[0] == "*":
        labels = labels[1:]
    assert len(labels) >= 2 and all(LDH.match(part) for part in labels), name
    assert validate_name(name, allow_wildcard=wildcard) == name  # normalising twice changes nothing


@examples(800)
@given(valid_name)
@example("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61)
def test_valid_names_are_accepted_in_any_case_and_with_a_final_dot(name: str) -> None:
    assert validate_name(name) == name
    assert validate_name(name.upper() + ".") == name


@examples(300)
@given(st.lists(valid_name | domainish, max_size=MAX_NAMES + 5))
def test_a_list_is_validated_deduplicated_in_order_or_refused(names: list[str]) -> None:
    try:
        out = normalize_domains(names)
    except UsageError as exc:
        one_line_message(exc)
        return
    assert 1 <= len(out) <= MAX_NAMES and len(set(out)) == len(out)
    assert list(out) == list(dict.fromkeys(validate_name(n) for n in names))


@examples(1000)
@given(st.text(st.characters(codec="utf-8") | st.sampled_from("./-_.a0"), max_size=70))
@example("..")
@example(".")
@example("a/../b")
def test_entry_names_are_single_safe_folder_names(text: str) -> None:
    try:
        name = validate_entry_name(text)
    except UsageError as exc:
        one_line_message(exc)
        return
    assert name == text and 1 <= len(name) <= 64 and name not in (".", "..")
    assert "/" not in name and "\\" not in name and "\x00" not in name and name.isascii()
    assert not name.startswith(("-", "."))
