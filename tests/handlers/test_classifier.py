"""The appeal classifier as a manager would notice it: right kinds, quiet on chat, never crashing."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.classifier import Classification, Classifier, LexiconError
from handlers.evaluation import Report, evaluate, format_report, load_rows
from handlers.types import Kind

DATA = Path(__file__).resolve().parents[1] / "data"
LEXICON = Path(__file__).resolve().parents[2] / "config" / "appeal_lexicon.toml"
APPEALS = [k for k in Kind if k is not Kind.NONE]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.default()


@pytest.fixture(scope="module")
def holdout(classifier: Classifier) -> Report:
    return evaluate(classifier, load_rows(DATA / "appeals_holdout.tsv"))


# ---------------------------------------------------------------- the labelled sets
def test_data_sets_have_the_promised_size() -> None:
    dev, hold = load_rows(DATA / "appeals_dev.tsv"), load_rows(DATA / "appeals_holdout.tsv")
    assert len(dev) + len(hold) >= 300
    assert len(hold) >= 150
    for kind in APPEALS:
        assert sum(r.kind is kind for r in hold) >= 15, kind
        assert sum(r.kind is kind for r in dev + hold) >= 25, kind
    assert sum(r.kind is Kind.NONE for r in hold) >= 50
    assert sum(r.kind is Kind.NONE for r in dev + hold) >= 100


# Floors a bit under what the shipped lexicon measures on the holdout file (accuracy 0.875, macro F1
# 0.880, appeal precision 0.994, none recall 0.989, lowest appeal recall 0.739).  The file's last
# section is a blind batch written after the lexicon was frozen: alone it measures accuracy 0.56 and
# appeal precision 0.96 — the honest figure for wording nobody tuned for.
def test_holdout_accuracy_and_macro_f1(holdout: Report) -> None:
    assert holdout.accuracy >= 0.85, format_report(holdout)
    assert holdout.macro_f1 >= 0.85, format_report(holdout)


def test_holdout_appeals_are_precise(holdout: Report) -> None:
    """A false ticket annoys a manager: what is flagged as an appeal must be one."""
    assert holdout.appeal_precision >= 0.95, format_report(holdout)
    assert holdout.per_kind[Kind.NONE].recall >= 0.95, format_report(holdout)


def test_holdout_every_appeal_kind_is_found(holdout: Report) -> None:
    for kind in APPEALS:
        assert holdout.per_kind[kind].recall >= 0.65, f"{kind}\n{format_report(holdout)}"
        assert holdout.per_kind[kind].precision >= 0.8, f"{kind}\n{format_report(holdout)}"


def test_dev_set_stays_tuned(classifier: Classifier) -> None:
    """A guard for lexicon edits: the set it was tuned on must stay (nearly) right."""
    report = evaluate(classifier, load_rows(DATA / "appeals_dev.tsv"))
    assert report.accuracy >= 0.97, format_report(report, misses=20)


# ---------------------------------------------------------------- explicit cases
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("谢谢", Kind.NONE),
        ("收到", Kind.NONE),
        ("好的师傅", Kind.NONE),
        ("谢谢师傅", Kind.NONE),
        ("停电通知已收到", Kind.NONE),
        ("今天电视剧好看", Kind.NONE),
        ("手机没电了，回头聊", Kind.NONE),
        ("明天停电是吧，知道了", Kind.NONE),
        ("👍", Kind.NONE),
        ("[捂脸][捂脸]", Kind.NONE),
        ("早上好", Kind.NONE),
        ("停电了快来人", Kind.REPAIR),
        ("跳闸了，推不上去", Kind.REPAIR),
        ("电表冒烟了！", Kind.REPAIR),
        ("我要投诉，你们乱收费", Kind.COMPLAINT),
        ("多次停电没人管", Kind.COMPLAINT),
        ("举报有人偷电", Kind.REPORT),
        ("有人冒充电力公司打电话让转账，是诈骗", Kind.REPORT),
        ("你们这个通知太晚了", Kind.OPINION),
        ("建议停电提前一周通知", Kind.SUGGESTION),
        ("能不能提前几天通知停电", Kind.SUGGESTION),
        ("感谢王师傅冒雨来抢修", Kind.PRAISE),
        ("给供电所点赞，送面锦旗", Kind.PRAISE),
        ("什么时候来电？", Kind.INQUIRY),
        ("电费多少钱一度", Kind.INQUIRY),
        ("峰谷电价怎么算", Kind.INQUIRY),
        ("我要申请峰谷电", Kind.SERVICE_REQUEST),
        ("房子买了，电表要过户", Kind.SERVICE_REQUEST),
        ("电费交了，麻烦帮我复电", Kind.SERVICE_REQUEST),
    ],
)
def test_explicit_cases(classifier: Classifier, text: str, kind: Kind) -> None:
    assert classifier.classify(text).kind is kind


def test_cues_explain_the_verdict(classifier: Classifier) -> None:
    verdict = classifier.classify("停电了快来人")
    assert "停电了" in verdict.cues


def test_more_and_stronger_cues_raise_confidence(classifier: Classifier) -> None:
    weak = classifier.classify("停电了")
    strong = classifier.classify("停电了，电表箱冒烟，快来人")
    assert weak.kind is strong.kind is Kind.REPAIR
    assert 0.5 <= weak.confidence < strong.confidence <= 1.0


def test_chat_confidence_reflects_chat_evidence(classifier: Classifier) -> None:
    plain = classifier.classify("今天去镇上")
    chatty = classifier.classify("收到，谢谢，好的")
    doubtful = classifier.classify("希望")  # a suggestion word alone: none, but less sure
    assert plain.kind is chatty.kind is doubtful.kind is Kind.NONE
    assert chatty.confidence > plain.confidence > doubtful.confidence


# ---------------------------------------------------------------- robustness
@pytest.mark.parametrize("text", ["", "   \n\t", "👍👍👍", "[捂脸]", "。。。", "\u200b\u200b", "?", "1"])
def test_contentless_messages_are_chat(classifier: Classifier, text: str) -> None:
    verdict = classifier.classify(text)
    assert verdict.kind is Kind.NONE
    assert 0.0 <= verdict.confidence <= 1.0


def test_full_width_traditional_and_mixed_english(classifier: Classifier) -> None:
    assert classifier.classify("停電了，快來人").kind is Kind.REPAIR
    assert classifier.classify("no power 家里没电了 help").kind is Kind.REPAIR
    assert classifier.classify("ＯＫ收到").kind is Kind.NONE
    assert classifier.classify("户号３２０１２３４５６７，停电了！").kind is Kind.REPAIR


def test_huge_message_is_fast(classifier: Classifier) -> None:
    classifier.classify("预热")  # the tokenizer is built lazily on first use
    text = "停电了" + "啊" * 100_000
    start = time.perf_counter()
    verdict = classifier.classify(text)
    assert time.perf_counter() - start < 0.1
    assert verdict.kind is Kind.REPAIR


def test_typical_message_is_fast(classifier: Classifier) -> None:
    rows = load_rows(DATA / "appeals_dev.tsv")
    classifier.classify("预热")
    times = []
    for row in rows:
        start = time.perf_counter()
        classifier.classify(row.text)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.005


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_never_raises_and_confidence_is_a_probability(text: str) -> None:
    verdict = Classifier.default().classify(text)
    assert isinstance(verdict, Classification)
    assert isinstance(verdict.kind, Kind)
    assert 0.0 <= verdict.confidence <= 1.0
    assert all(isinstance(cue, str) for cue in verdict.cues)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("停电了没跳闸投诉谢谢收到？！ 👍[]捂脸１２３")), max_size=60))
def test_never_raises_on_domain_soup(text: str) -> None:
    verdict = Classifier.default().classify(text)
    assert 0.0 <= verdict.confidence <= 1.0


# ---------------------------------------------------------------- the lexicon as data
def test_default_is_built_once() -> None:
    assert Classifier.default() is Classifier.default()


def test_station_copy_of_the_lexicon(tmp_path: Path) -> None:
    copy = tmp_path / "lexicon.toml"
    text = LEXICON.read_text(encoding="utf-8")
    copy.write_text(text + '\n[[repair.patterns]]\nregex = "灯瞎了"\nweight = 5.0\n', encoding="utf-8")
    assert Classifier.from_file(LEXICON).classify("我家灯瞎了").kind is Kind.NONE
    assert Classifier.from_file(copy).classify("我家灯瞎了").kind is Kind.REPAIR


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('\n[[repair.patterns]]\nregex = "(unclosed"\nweight = 1.0\n', "bad regex"),
        ('\n[[repair.patterns]]\nregex = "{nogroup}"\nweight = 1.0\n', "unknown group"),
        ('\n[weird]\nthreshold = 1\n', "unknown section"),
    ],
)
def test_malformed_lexicon_is_refused_with_a_reason(tmp_path: Path, extra: str, message: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(LEXICON.read_text(encoding="utf-8") + extra, encoding="utf-8")
    with pytest.raises(LexiconError, match=message):
        Classifier.from_file(bad)


def test_negative_weights_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[repair]\nthreshold = 2.0\n[repair.cues]\n"停电" = -1\n', encoding="utf-8")
    with pytest.raises(LexiconError, match="non-negative"):
        Classifier.from_file(bad)


def test_cues_match_on_word_boundaries_only(classifier: Classifier) -> None:
    norm, _ = classifier.normalise("停电通知已收到")
    assert "停电通知" in classifier.tokens(norm)
