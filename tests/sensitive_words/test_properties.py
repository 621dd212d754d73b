"""Property tests: the matcher against a slow, obviously correct reference implementation.

The reference walks the original text character by character: it skips noise, normalises each
character on its own and merges repeated characters into runs (char, first index, last index, count).
A word, folded the same way, occurs at every run index where each of its characters matches and
each run is at least as long as the word needs; an ASCII letter or digit at the word's edge must not
continue a longer ASCII word. A hit lying inside an occurrence of a whitelisted phrase is dropped.
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sensitive_words import Hit, Level, Matcher, WordEntry
from sensitive_words.charmap import is_noise, normalise_char

ALNUM = set("abcdefghijklmnopqrstuvwxyz0123456789")
Run = list  # [char, first, last, count]


def ref_runs(text: str) -> list[Run]:
    runs: list[Run] = []
    for i, ch in enumerate(text):
        if is_noise(ch):
            continue
        c = normalise_char(ch)
        if runs and runs[-1][0] == c:
            runs[-1][2] = i
            runs[-1][3] += 1
        else:
            runs.append([c, i, i, 1])
    return runs


def ref_key(word: str) -> tuple[tuple[str, int], ...]:
    return tuple((r[0], r[3]) for r in ref_runs(word))


def ref_occurrences(runs: list[Run], key: tuple[tuple[str, int], ...]) -> list[tuple[int, int]]:
    m = len(key)
    out: list[tuple[int, int]] = []
    if not m:
        return out
    for r in range(len(runs) - m + 1):
        if not all(runs[r + i][0] == key[i][0] and runs[r + i][3] >= key[i][1] for i in range(m)):
            continue
        if key[0][0] in ALNUM and r > 0 and runs[r - 1][0] in ALNUM:
            continue
        if key[-1][0] in ALNUM and r + m < len(runs) and runs[r + m][0] in ALNUM:
            continue
        out.append((runs[r][1], runs[r + m - 1][2] + 1))
    return out


def reference_find(text: str, entries: list[WordEntry], phrases: list[str]) -> list[tuple[str, int, int]]:
    runs = ref_runs(text)
    chosen: dict[tuple[tuple[str, int], ...], WordEntry] = {}
    for ent in entries:
        key = ref_key(ent.word)
        if key and (key not in chosen or ent.level.rank > chosen[key].level.rank):
            chosen[key] = ent
    allowed = [span for p in phrases for span in ref_occurrences(runs, ref_key(p))]
    hits = []
    for key, entry in chosen.items():
        for s, e in ref_occurrences(runs, key):
            if not any(a <= s and e <= b for a, b in allowed):
                hits.append((entry.word, s, e))
    return sorted(hits)


def as_tuples(hits: list[Hit]) -> list[tuple[str, int, int]]:
    return sorted((h.word, h.start, h.end) for h in hits)


# A small alphabet so that random words occur in random texts; every class of character is there.
CJK = "垃圾赌博妈哈发後后臺台证明д𠀀é"  # with a 2-byte and a 4-byte character
LATIN = "absABSａｂｓＳ"
DIGITS = "16１⑥①⑴❶"
NOISE = " ，。!-.\u200b\u3000😀❤\ufe0f\U000e0020"
word_chars = st.sampled_from(CJK + LATIN + DIGITS)
text_chars = st.sampled_from(CJK + LATIN + DIGITS + NOISE)
words = st.text(word_chars, min_size=1, max_size=4)
noisy_words = st.text(st.sampled_from(CJK + LATIN + DIGITS + NOISE), min_size=1, max_size=5)
levels = st.sampled_from(list(Level))
entries = st.lists(st.builds(WordEntry, st.one_of(words, noisy_words), st.just("c"), levels), min_size=1, max_size=8)
texts = st.text(text_chars, max_size=50)


@st.composite
def text_with_words(draw: st.DrawFn) -> tuple[str, list[WordEntry]]:
    """A random text with some of the words planted in it, so that hits are frequent."""
    ents = draw(entries)
    parts = [draw(texts)]
    for _ in range(draw(st.integers(0, 4))):
        parts.append(draw(st.sampled_from(ents)).word)
        parts.append(draw(st.text(text_chars, max_size=6)))
    return "".join(parts), ents


@given(text_with_words(), st.lists(words, max_size=3))
@settings(max_examples=300, deadline=None)
def test_matches_reference(case: tuple[str, list[WordEntry]], phrases: list[str]) -> None:
    text, ents = case
    hits = Matcher(ents, phrases).find(text)
    assert as_tuples(hits) == reference_find(text, ents, phrases)


@given(text_with_words())
@settings(max_examples=200, deadline=None)
def test_offsets_slice_the_original(case: tuple[str, list[WordEntry]]) -> None:
    text, ents = case
    for hit in Matcher(ents).find(text):
        assert 0 <= hit.start < hit.end <= len(text)
        assert hit.text == text[hit.start : hit.end]
        assert not is_noise(hit.text[0]) and not is_noise(hit.text[-1])


@st.composite
def noise_insertions(draw: st.DrawFn) -> tuple[str, str]:
    text = draw(texts)
    out = []
    for ch in text:
        out.append(draw(st.text(st.sampled_from(NOISE), max_size=2)))
        out.append(ch)
    out.append(draw(st.text(st.sampled_from(NOISE), max_size=2)))
    return text, "".join(out)


@given(noise_insertions(), entries, st.lists(words, max_size=2))
@settings(max_examples=200, deadline=None)
def test_noise_insertion_never_hides_a_word(pair: tuple[str, str], ents: list[WordEntry], phrases: list[str]) -> None:
    clean, noisy = pair
    matcher = Matcher(ents, phrases)
    assert [h.word for h in matcher.find(noisy)] == [h.word for h in matcher.find(clean)]


@given(st.lists(words, min_size=1, max_size=4), texts, texts, st.text(st.sampled_from(NOISE), min_size=1))
@settings(max_examples=200, deadline=None)
def test_planted_word_with_noise_is_found(ws: list[str], before: str, after: str, noise: str) -> None:
    word = ws[0]
    noisy = noise.join(word)
    text = before + "田" + noisy + "田" + after  # 田 is in no word and keeps ASCII words apart
    start = len(before) + 1
    hits = Matcher([WordEntry(w) for w in ws]).find(text)
    assert any(h.word == word and (h.start, h.end) == (start, start + len(noisy)) for h in hits)


@given(text_with_words(), st.data())
@settings(max_examples=150, deadline=None)
def test_repeating_a_character_never_hides_a_word(case: tuple[str, list[WordEntry]], data: st.DataObject) -> None:
    text, ents = case
    assume(text)
    i = data.draw(st.integers(0, len(text) - 1))
    longer = text[: i + 1] + text[i] * data.draw(st.integers(1, 3)) + text[i + 1 :]
    matcher = Matcher(ents)
    before = [h.word for h in matcher.find(text)]
    after = [h.word for h in matcher.find(longer)]
    for w in set(before):
        assert after.count(w) >= before.count(w)
