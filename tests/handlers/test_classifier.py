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
EXAMPLES = LEXICON.parent / "appeal_examples.tsv"
APPEALS = [k for k in Kind if k is not Kind.NONE]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.default()


@pytest.fixture(scope="module")
def holdout(classifier: Classifier) -> Report:
    return evaluate(classifier, load_rows(DATA / "appeals_holdout.tsv"))


@pytest.fixture(scope="module")
def blind2(classifier: Classifier) -> Report:
    return evaluate(classifier, load_rows(DATA / "appeals_blind2.tsv"))


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
    blind = load_rows(DATA / "appeals_blind2.tsv")
    assert len(blind) >= 200
    for kind in APPEALS:
        assert sum(r.kind is kind for r in blind) >= 18, kind
    assert sum(r.kind is Kind.NONE for r in blind) >= 60


# Floors a bit under what the shipped lexicon with its second opinion measures on the holdout file
# (accuracy 0.934, macro F1 0.933, appeal precision 0.989, none recall 0.978, lowest appeal recall 0.783,
# lowest appeal precision 0.880; the first lexicon alone: 0.875, 0.880, 0.994, 0.989, 0.739).  The file's
# last section is a blind batch written after the first lexicon was frozen: alone it measures accuracy
# 0.743, appeal precision 0.953, appeal recall 0.820 (first lexicon: 0.557, 0.962, 0.500).
def test_holdout_accuracy_and_macro_f1(holdout: Report) -> None:
    assert holdout.accuracy >= 0.92, format_report(holdout)
    assert holdout.macro_f1 >= 0.92, format_report(holdout)


def test_holdout_appeals_are_precise(holdout: Report) -> None:
    """A false ticket annoys a manager: what is flagged as an appeal must be one."""
    assert holdout.appeal_precision >= 0.98, format_report(holdout)
    assert holdout.per_kind[Kind.NONE].recall >= 0.97, format_report(holdout)


def test_holdout_every_appeal_kind_is_found(holdout: Report) -> None:
    for kind in APPEALS:
        assert holdout.per_kind[kind].recall >= 0.75, f"{kind}\n{format_report(holdout)}"
        assert holdout.per_kind[kind].precision >= 0.85, f"{kind}\n{format_report(holdout)}"


# tests/data/appeals_blind2.tsv was written before this round of changes, without looking at the other
# files, and measured once before (accuracy 0.726, appeal precision 0.992, appeal recall 0.711) and once
# after (accuracy 0.844, macro F1 0.826, appeal precision 1.000, appeal recall 0.892, none recall 1.000,
# per-kind recall below); nothing was tuned on its lines.  Floors a little under the "after" figures.
BLIND2_RECALL = {
    Kind.REPAIR: 0.75,  # 0.783
    Kind.COMPLAINT: 0.65,  # 0.682
    Kind.REPORT: 0.75,  # 0.800
    Kind.OPINION: 0.45,  # 0.500
    Kind.SUGGESTION: 0.75,  # 0.800
    Kind.PRAISE: 0.80,  # 0.850
    Kind.INQUIRY: 0.85,  # 0.905
    Kind.SERVICE_REQUEST: 0.85,  # 0.900
}


def test_blind2_accuracy_and_appeal_recall(blind2: Report) -> None:
    assert blind2.accuracy >= 0.82, format_report(blind2)
    assert blind2.macro_f1 >= 0.80, format_report(blind2)
    assert blind2.appeal_recall >= 0.87, format_report(blind2)


def test_blind2_appeals_are_precise(blind2: Report) -> None:
    assert blind2.appeal_precision >= 0.97, format_report(blind2)
    assert blind2.per_kind[Kind.NONE].recall >= 0.97, format_report(blind2)


def test_blind2_every_appeal_kind_is_found(blind2: Report) -> None:
    for kind, floor in BLIND2_RECALL.items():
        assert blind2.per_kind[kind].recall >= floor, f"{kind}\n{format_report(blind2)}"
        assert blind2.per_kind[kind].precision >= 0.75, f"{kind}\n{format_report(blind2)}"


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
        # wording the first lexicon missed (the examples of the recall task)
        ("你们服务太差了，打电话一直没人接", Kind.COMPLAINT),
        ("路灯坏了好几天了", Kind.REPAIR),
        ("这个月电费扣了两次", Kind.COMPLAINT),
        ("电费怎么这么贵", Kind.OPINION),
        # everyday things that merely contain 电 stay chat
        ("充电宝没电了", Kind.NONE),
        ("电动车没电了", Kind.NONE),
        ("电视坏了，明天去修", Kind.NONE),
        ("刚才是我家自己跳闸，已经好了", Kind.NONE),
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


def test_digit_cues_never_match_inside_a_longer_number(classifier: Classifier) -> None:
    """"12345" (a complaint hotline) must not fire inside the account number 3101234567."""
    assert classifier.classify("麻烦帮我开通峰谷，户号3101234567").kind is Kind.SERVICE_REQUEST
    verdict = classifier.classify("我要打12345投诉你们")
    assert verdict.kind is Kind.COMPLAINT and "12345" in verdict.cues


def test_everyday_words_containing_a_domain_word_are_blanked(classifier: Classifier) -> None:
    norm, _ = classifier.normalise("电动车充满电要多久啊")
    assert not classifier._on_domain(norm)
    assert classifier._on_domain(classifier.normalise("充电桩坏了")[0])
    assert classifier.classify("电动车充满电要多久啊").kind is Kind.NONE


# ---------------------------------------------------------------- the second opinion (Naive Bayes)
def _lexicon_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = LEXICON.read_text(encoding="utf-8")
    assert old in text
    copy = tmp_path / "lexicon.toml"
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def test_shipped_examples_are_the_dev_set() -> None:
    """The model learns from the dev set only: the holdout and blind files stay unseen."""
    dev = [(r.kind, r.text) for r in load_rows(DATA / "appeals_dev.tsv")]
    assert [(r.kind, r.text) for r in load_rows(EXAMPLES)] == dev


def test_second_opinion_names_itself_and_is_less_sure(classifier: Classifier) -> None:
    verdict = classifier.classify("有人在配电房里面堆柴火还住人")
    assert verdict.kind is Kind.REPORT
    assert verdict.cues[0] == "<second opinion>"
    assert 0.5 <= verdict.confidence <= 0.75


def test_second_opinion_can_be_switched_off(tmp_path: Path) -> None:
    off = Classifier.from_file(_lexicon_copy(tmp_path, "[second_opinion]\nenabled = true",
                                             "[second_opinion]\nenabled = false"))
    assert off.classify("有人在配电房里面堆柴火还住人").kind is Kind.NONE
    assert off.classify("停电了快来人").kind is Kind.REPAIR


def test_second_opinion_never_overrules_a_lexicon_veto(classifier: Classifier) -> None:
    """Negative cues say "not this kind": the model may not pick that kind either."""
    assert classifier.classify("不如在路口装几个监控，防止有人偷电缆").kind is not Kind.REPORT
    assert classifier.classify("刚才是我家自己跳闸，已经好了").kind is Kind.NONE


def test_second_opinion_stays_out_of_chat(classifier: Classifier) -> None:
    for text in ["收到，谢谢经理", "好的师傅", "哈哈哈", "今天去镇上", "电视剧好看", "[捂脸]电费交了"]:
        assert classifier.classify(text).kind is Kind.NONE, text


def test_examples_file_next_to_a_station_copy_is_used(tmp_path: Path) -> None:
    copy = _lexicon_copy(tmp_path, 'examples = "appeal_examples.tsv"', 'examples = "ours.tsv"')
    (tmp_path / "ours.tsv").write_text("report\t配电房里堆柴火\nnone\t柴火堆在院子里\n", encoding="utf-8")
    assert Classifier.from_file(copy).classify("停电了").kind is Kind.REPAIR


def test_missing_examples_file_leaves_the_cues(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    copy = _lexicon_copy(tmp_path, 'examples = "appeal_examples.tsv"', 'examples = "missing.tsv"')
    with caplog.at_level("WARNING"):
        clf = Classifier.from_file(copy)
    assert "missing.tsv" in caplog.text
    assert clf.classify("停电了快来人").kind is Kind.REPAIR
    assert clf.classify("今天去镇上").kind is Kind.NONE


def test_malformed_examples_file_is_refused(tmp_path: Path) -> None:
    copy = _lexicon_copy(tmp_path, 'examples = "appeal_examples.tsv"', 'examples = "bad.tsv"')
    (tmp_path / "bad.tsv").write_text("repair\t停电了\nbogus\t什么\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"bad\.tsv:2"):
        Classifier.from_file(copy)


def test_first_use_builds_tokenizer_and_model_quickly() -> None:
    """Import, lexicon, jieba dictionary and model training together stay well under 1.5 s."""
    start = time.perf_counter()
    fresh = Classifier.from_file(LEXICON)
    assert fresh.classify("有人在配电房里面堆柴火还住人").kind is Kind.REPORT  # decided by the model
    assert time.perf_counter() - start < 1.5
