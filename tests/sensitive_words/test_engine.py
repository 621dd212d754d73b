"""The engine: lists + whitelists + detectors, run-time changes swapped in atomically."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sensitive_words import Detectors, Level, ListFormatError, SensitiveWordEngine, Whitelist, WordEntry, WordList

NO_DETECTORS = Detectors(enabled=())


@pytest.fixture(scope="module")
def starter() -> SensitiveWordEngine:
    return SensitiveWordEngine.starter()


def words(engine: SensitiveWordEngine, text: str) -> list[str]:
    return [h.word for h in engine.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你们供电所真是垃圾", ["垃圾"]),
        ("请大家做好垃圾分类", []),
        ("请在月底前缴费，电费发票可在网上营业厅开具", []),
        ("停电通知：明天8:00-18:00检修，请联系客服电话95598", []),
        ("国家电网电费补贴领取，点击链接 http://sgcc-bt.top/x", ["电费补贴领取", "url"]),
        ("低价代缴電費，八五折！加V：dianfei888", ["低价代缴电费", "wechat"]),
        ("代缴电费打折，加微信 dianfei888", ["代缴电费打折", "电费打折", "wechat"]),
        ("线上赌-场，百.家.乐，送彩金", ["线上赌场", "赌场", "百家乐", "送彩金"]),
        ("他惹了大麻烦", []),  # 大麻 straddles 大麻烦: dropped by the jieba check
        ("种植大麻是违法的", ["大麻"]),
        ("我的手机13812345678，身份证11010519491231002X", ["mobile", "id_card"]),
        ("傻 逼", ["傻逼"]),
        ("ＳＢ", ["sb"]),
        ("我他妈的受够了", ["他妈的"]),
        ("听其他妈妈的推荐", []),
    ],
)
def test_starter_engine(starter: SensitiveWordEngine, text: str, expected: list[str]) -> None:
    assert sorted(words(starter, text)) == sorted(expected)


def test_hit_levels_from_list(starter: SensitiveWordEngine) -> None:
    (hit,) = starter.find("网赌")
    assert (hit.category, hit.level) == ("gambling", Level.BLOCK)


def test_whitelist_also_shields_detector_hits() -> None:
    engine = SensitiveWordEngine([], [Whitelist("w", ("抢修电话13812345678",))], use_jieba=False)
    assert words(engine, "抢修电话13812345678") == []
    assert words(engine, "我的电话13812345678") == ["mobile"]


def test_add_and_remove_words_and_lists() -> None:
    engine = SensitiveWordEngine([WordList("base", (WordEntry("赌博"),))], detectors=NO_DETECTORS)
    engine.add_words(["代开发票\tad\tblock", WordEntry("网赌", "gambling")])
    assert words(engine, "代开发票和网赌和赌博") == ["代开发票", "网赌", "赌博"]
    assert [wl.name for wl in engine.lists] == ["base", "runtime"]
    engine.remove_words(["赌博", "网赌"])
    assert words(engine, "代开发票和网赌和赌博") == ["代开发票"]
    engine.add_list(WordList("extra", (WordEntry("刷单"),)))
    engine.remove_list("runtime")
    assert words(engine, "代开发票和刷单") == ["刷单"]
    with pytest.raises(ListFormatError):
        engine.add_words(["词\tx\tdelete"])


def test_allow_and_disallow() -> None:
    engine = SensitiveWordEngine([WordList("w", (WordEntry("垃圾"),))], detectors=NO_DETECTORS)
    assert words(engine, "垃圾分类") == ["垃圾"]
    engine.allow(["垃圾分类"])
    assert words(engine, "垃圾分类") == []
    engine.disallow(["垃圾分类"])
    assert words(engine, "垃圾分类") == ["垃圾"]


def test_reload_reads_files_again_and_keeps_state_on_error(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    allow = tmp_path / "a.txt"
    path.write_text("赌博\n", encoding="utf-8")
    allow.write_text("", encoding="utf-8")
    engine = SensitiveWordEngine.from_files(path, allow, detectors=NO_DETECTORS)
    path.write_text("网赌\n", encoding="utf-8")
    allow.write_text("网赌吧\n", encoding="utf-8")
    engine.reload()
    assert words(engine, "赌博 网赌 网赌吧") == ["网赌"]
    path.write_text("坏\tx\tnope\n", encoding="utf-8")
    with pytest.raises(ListFormatError):
        engine.reload()
    assert words(engine, "网赌") == ["网赌"]


def test_matching_never_blocks_while_lists_change() -> None:
    engine = SensitiveWordEngine([WordList("a", (WordEntry("赌博"),))], detectors=NO_DETECTORS)
    errors: list[BaseException] = []
    seen: set[tuple[str, ...]] = set()
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.add(tuple(words(engine, "赌博和网赌")))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(30):
        engine.add_list(WordList("b", (WordEntry("网赌"),) if i % 2 == 0 else ()))
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert seen <= {("赌博",), ("赌博", "网赌")}


def test_jieba_drops_boundary_straddling_hits_only_for_flagged_words() -> None:
    flagged = WordList.from_lines(["证明\t\t\tboundary"])
    plain = WordList.from_lines(["证明"])
    engine = SensitiveWordEngine([flagged], detectors=NO_DETECTORS)
    assert words(engine, "结婚证明天交") == []  # 结婚/证/明天/交
    assert words(engine, "请交结婚证明") == ["证明"]
    assert words(SensitiveWordEngine([plain], detectors=NO_DETECTORS), "结婚证明天交") == ["证明"]
    no_jieba = SensitiveWordEngine([flagged], detectors=NO_DETECTORS, use_jieba=False)
    assert words(no_jieba, "结婚证明天交") == ["证明"]
