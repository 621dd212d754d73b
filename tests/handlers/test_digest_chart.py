"""The digest chart image: a real PNG of the right size, Chinese labels in a CJK font, English without one."""

from __future__ import annotations

import copy
import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from PIL import Image

from handlers import digest_chart
from handlers.digest_chart import ChartInput, build_figure, cjk_font, render_png

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
DAYS = [date(2026, 11, 16) + timedelta(days=i) for i in range(14)]
BUSY = ChartInput(
    title="每日汇总（11月29日）幸福供电所",
    days=DAYS,
    opened=[3, 5, 2, 0, 7, 4, 6, 8, 2, 1, 3, 5, 4, 6],
    resolved=[2, 4, 3, 1, 5, 5, 4, 6, 3, 2, 2, 4, 5, 3],
    by_manager=[("李经理", 12, 3), ("王敏", 9, 0), ("Alice Smith", 5, 1), ("赵六", 4, 0)],
    language="zh_CN",
)
QUIET = dataclasses.replace(BUSY, opened=[0] * 14, resolved=[0] * 14, by_manager=[])


@pytest.fixture(autouse=True)
def fresh_font_lookup() -> Iterator[None]:
    cjk_font.cache_clear()
    yield
    cjk_font.cache_clear()


needs_cjk_font = pytest.mark.skipif(cjk_font() is None, reason="no CJK font installed (apt install fonts-wqy-microhei)")


def drawn_texts(figure: Figure) -> list[Text]:
    figure.canvas.draw()  # tick labels get their strings at draw time
    return [t for t in figure.findobj(Text) if isinstance(t, Text) and t.get_visible() and t.get_text().strip()]


def undrawable(texts: list[Text]) -> list[str]:
    """Characters no font of their text artist has (matplotlib would draw its last-resort box: tofu)."""
    missing = []
    for text in texts:
        charmap: set[int] = set()
        for family in text.get_fontproperties().get_family():
            path = font_manager.findfont(FontProperties(family=[family]), fallback_to_default=False)
            charmap.update(FT2Font(path, face_index=getattr(path, "face_index", 0)).get_charmap())
        missing += [char for char in text.get_text() if ord(char) not in charmap and not char.isspace()]
    return missing


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.size


def test_the_chart_is_a_small_png_of_800_by_600() -> None:
    png = render_png(BUSY)
    assert png_size(png) == (800, 600)
    assert len(png) < 150_000


def test_the_tofu_detector_sees_tofu() -> None:
    """The control for the tests below: Chinese drawn in the Latin default font is reported."""
    figure = Figure(figsize=(2, 1), dpi=100)
    figure.text(0.1, 0.5, "A超期", fontproperties=FontProperties(family=[digest_chart.LATIN_FONT]))
    assert undrawable(drawn_texts(figure)) == ["超", "期"]


@needs_cjk_font
def test_chinese_labels_are_drawn_in_the_cjk_font() -> None:
    font = cjk_font()
    assert font is not None
    cjk_file = font_manager.findfont(FontProperties(family=[font]))
    texts = drawn_texts(build_figure(BUSY))
    shown = {t.get_text() for t in texts}
    assert {"新增", "办结", "在办", "超期", "李经理", "王敏", "Alice Smith", BUSY.title} <= shown
    chinese = [t for t in texts if CJK.search(t.get_text())]
    assert len(chinese) >= 8
    assert {font_manager.findfont(t.get_fontproperties()) for t in chinese} == {cjk_file}
    assert undrawable(texts) == []


@needs_cjk_font
def test_english_labels_keep_chinese_names_when_the_font_is_there() -> None:
    shown = {t.get_text() for t in drawn_texts(build_figure(dataclasses.replace(BUSY, language="en")))}
    assert {"Opened", "Resolved", "Open", "Overdue", "李经理", "Alice Smith"} <= shown
    assert not {"新增", "在办"} & shown


def test_without_a_cjk_font_labels_are_english_and_nothing_chinese_is_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(digest_chart, "cjk_font", lambda: None)
    texts = drawn_texts(build_figure(BUSY))
    shown = [t.get_text() for t in texts]
    assert not [text for text in shown if CJK.search(text)]
    assert {"Opened", "Resolved", "Open", "Overdue", "#1", "#2", "Alice Smith", "#4"} <= set(shown)
    assert "Ticket digest 11/16–11/29" in shown  # the Chinese title gives way to one the font can draw
    assert undrawable(texts) == []
    assert png_size(render_png(BUSY)) == (800, 600)


@pytest.mark.parametrize(
    ("language", "font_available", "expected"),
    [("zh_CN", True, {"暂无工单", "暂无在办工单"}), ("en", False, {"No tickets", "No open tickets"})],
)
def test_a_day_without_tickets_says_so(
    monkeypatch: pytest.MonkeyPatch, language: str, font_available: bool, expected: set[str]
) -> None:
    if font_available and cjk_font() is None:
        pytest.skip("no CJK font installed")
    if not font_available:
        monkeypatch.setattr(digest_chart, "cjk_font", lambda: None)
    quiet = dataclasses.replace(QUIET, language=language)
    figure = build_figure(quiet)
    assert expected <= {t.get_text() for t in drawn_texts(figure)}
    assert all(not ax.axison for ax in figure.axes)  # no empty axes, only the message
    assert png_size(render_png(quiet)) == (800, 600)


def test_no_days_at_all_still_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest_chart, "cjk_font", lambda: None)
    empty = ChartInput(title="每日汇总", days=[], opened=[], resolved=[], by_manager=[], language="zh_CN")
    assert png_size(render_png(empty)) == (800, 600)
    assert "Ticket digest" in {t.get_text() for t in drawn_texts(build_figure(empty))}


def test_series_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        build_figure(dataclasses.replace(BUSY, resolved=[1, 2]))


@needs_cjk_font
def test_a_font_installed_after_matplotlib_cached_its_list_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = cjk_font()
    assert installed is not None
    stale = copy.copy(font_manager.fontManager)
    cjk_files = {e.fname for e in stale.ttflist if e.name == installed}
    stale.ttflist = [e for e in stale.ttflist if e.fname not in cjk_files]  # the cache of before the install
    monkeypatch.setattr(font_manager, "fontManager", stale)
    cjk_font.cache_clear()
    assert cjk_font() is not None
    assert {e.fname for e in stale.ttflist} & cjk_files


def test_names_the_font_cannot_draw_are_warned_about_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(digest_chart, "cjk_font", lambda: None)
    monkeypatch.setattr(digest_chart, "_warned_names", False)
    with caplog.at_level("WARNING", logger=digest_chart.__name__):
        render_png(BUSY)
        render_png(BUSY)
    assert len([r for r in caplog.records if "#1, #2" in r.getMessage()]) == 1
