"""The supervisors' digest as a chart image: opened vs resolved per day, open and overdue per manager.

A small PNG (800×600 px) readable on a phone, drawn with matplotlib's Agg backend on a private Figure
(never pyplot's global state), so rendering needs no display and keeps out of other threads' way.
Labels are Chinese when an installed font covers Chinese (see ``cjk_font``), English otherwise; without
such a font no text that the fallback font cannot draw reaches the image (manager names become "#1",
"#2", …), so a supervisor never sees tofu boxes.

Importing matplotlib takes a while: handlers.digest imports this module lazily, only to draw a chart.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

log = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 800, 600, 100
MAX_MANAGERS = 8
LATIN_FONT = "DejaVu Sans"  # matplotlib's bundled default: always there
# In order of preference; fonts of other regions (Noto Sans CJK JP…) still come through fc-list below.
PREFERRED_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Source Han Sans",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "AR PL SungtiL GB",
    "AR PL KaitiM GB",
)
# File names of fonts that cover Chinese, for finding ones installed after matplotlib cached its list.
_CJK_FILE = re.compile(r"cjk|wqy|sourcehan|droidsansfallback|uming|ukai|gbsn|gkai|notosanssc|simhei|simsun|msyh")
_SCALABLE = (".ttf", ".otf", ".ttc", ".otc")
_PROBE = "新增办结在办超期暂无工单经理"  # what a font must draw to be used for the labels

_LABELS = {
    "zh": {
        "opened": "新增",
        "resolved": "办结",
        "open": "在办",
        "overdue": "超期",
        "daily": "近{n}天 新增与办结（件）",
        "managers": "各客户经理 在办与超期（件）",
        "no_tickets": "暂无工单",
        "no_open": "暂无在办工单",
        "overdue_note": "（超期 {n}）",
        "fallback_title": "工单汇总",
    },
    "en": {
        "opened": "Opened",
        "resolved": "Resolved",
        "open": "Open",
        "overdue": "Overdue",
        "daily": "Last {n} days: opened and resolved",
        "managers": "Open and overdue tickets by manager",
        "no_tickets": "No tickets",
        "no_open": "No open tickets",
        "overdue_note": " ({n} overdue)",
        "fallback_title": "Ticket digest",
    },
}
_OPEN_COLOUR, _OVERDUE_COLOUR, _RESOLVED_COLOUR = "#4c78a8", "#e45756", "#54a24b"

_render_lock = threading.Lock()  # matplotlib's shared font objects are not safe across threads
_discovery_lock = threading.Lock()
_warned_names = False


@dataclass(frozen=True)
class ChartInput:
    title: str
    days: list[date]  # local days, oldest first, ending with the digest's period
    opened: list[int]  # per day
    resolved: list[int]  # per day
    by_manager: list[tuple[str, int, int]]  # name, open, overdue (up to 8 are drawn)
    language: str  # "zh_CN" or "en"


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font that draws Chinese, or None; looked up once per process.

    matplotlib keeps its font list in a cache file that does not notice fonts installed later, so when
    the known fonts have none, the fonts fontconfig says cover Chinese (``fc-list :lang=zh``) and font
    files with CJK-looking names are added to matplotlib's font manager before giving up."""
    with _discovery_lock:
        found = _preferred() or (_add_unknown(_fc_list_zh() + _cjk_named_files()) and _preferred())
        found = found or _any_of(_fc_list_zh())
    if found:
        log.info("digest chart font: %s", found)
    else:
        log.warning("no font covering Chinese is installed (e.g. fonts-wqy-microhei): "
                    "digest charts use English labels")
    return found


def build_figure(data: ChartInput) -> Figure:
    """The chart as a matplotlib Figure (not yet rendered)."""
    if not len(data.days) == len(data.opened) == len(data.resolved):
        raise ValueError("days, opened and resolved must have the same length")
    cjk = cjk_font()
    families = [cjk, LATIN_FONT] if cjk else [LATIN_FONT]
    drawable = _coverage(tuple(families))
    zh = cjk is not None and data.language.startswith("zh")
    labels = _LABELS["zh" if zh else "en"]
    weight = "normal" if cjk else "bold"  # CJK fonts seldom ship a bold face; Agg would fake none
    font = FontProperties(family=families, size=10)
    bold = FontProperties(family=families, size=12, weight=weight)

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    title = data.title if data.title and _draws(data.title, drawable) else _fallback_title(data, labels)
    figure.suptitle(title, fontproperties=FontProperties(family=families, size=15, weight=weight))
    daily, managers = figure.subplots(2, 1, height_ratios=[1, 1])
    _daily_panel(daily, data, labels, font, bold)
    _manager_panel(managers, data.by_manager[:MAX_MANAGERS], drawable, labels, font, bold)
    return figure


def render_png(data: ChartInput) -> bytes:
    """The chart as PNG bytes (800×600 px)."""
    with _render_lock:
        figure = build_figure(data)
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


# --- panels ----------------------------------------------------------------------------------------
def _daily_panel(ax: Axes, data: ChartInput, labels: dict[str, str], font: FontProperties,
                 bold: FontProperties) -> None:
    ax.set_title(labels["daily"].format(n=len(data.days)), fontproperties=bold, loc="left")
    if not any(data.opened) and not any(data.resolved):
        _empty(ax, labels["no_tickets"], font)
        return
    x = list(range(len(data.days)))
    bars = ax.bar(x, data.opened, width=0.6, color=_OPEN_COLOUR, label=labels["opened"])
    (line,) = ax.plot(x, data.resolved, color=_RESOLVED_COLOUR, marker="o", linewidth=2, label=labels["resolved"])
    step = 1 if len(x) <= 14 else 2
    ax.set_xticks(x[::step], [f"{day.month}/{day.day}" for day in data.days[::step]], fontproperties=font)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0, top=max([*data.opened, *data.resolved, 1]) * 1.3)
    ax.tick_params(labelsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(handles=[bars, line], prop=font, loc="upper left", frameon=False, ncols=2)


def _manager_panel(ax: Axes, rows: list[tuple[str, int, int]], drawable: frozenset[int],
                   labels: dict[str, str], font: FontProperties, bold: FontProperties) -> None:
    ax.set_title(labels["managers"], fontproperties=bold, loc="left")
    if not any(open_count for _, open_count, _ in rows):
        _empty(ax, labels["no_open"], font)
        return
    names = _names([name for name, _, _ in rows], drawable)
    y = list(range(len(rows)))[::-1]  # the first (most overdue) manager on top
    opened = [open_count for _, open_count, _ in rows]
    overdue = [late for _, _, late in rows]
    ax.barh(y, opened, height=0.6, color=_OPEN_COLOUR, label=labels["open"])
    ax.barh(y, overdue, height=0.6, color=_OVERDUE_COLOUR, label=labels["overdue"])
    for row, open_count, late in zip(y, opened, overdue, strict=True):
        note = f" {open_count}" + (labels["overdue_note"].format(n=late) if late else "")
        ax.text(open_count, row, note, va="center", fontproperties=font)
    ax.set_yticks(y, names, fontproperties=font)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(opened) * 1.35 + 0.5)
    ax.set_ylim(-0.6, max(len(rows), 3) - 0.4)
    ax.tick_params(labelsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(prop=font, loc="lower right", frameon=False, ncols=2)


def _empty(ax: Axes, text: str, font: FontProperties) -> None:
    ax.set_axis_off()
    big = font.copy()
    big.set_size(18)
    ax.text(0.5, 0.45, text, ha="center", va="center", color="#666666", fontproperties=big,
            transform=ax.transAxes)


def _names(names: list[str], drawable: frozenset[int]) -> list[str]:
    """Manager names, with "#1", "#2"… for those the available fonts cannot draw (warned once)."""
    global _warned_names
    shown = [name if name and _draws(name, drawable) else f"#{i}" for i, name in enumerate(names, 1)]
    if shown != names and not _warned_names:
        _warned_names = True
        log.warning("digest chart: manager names the installed fonts cannot draw are shown as #1, #2…; "
                    "install a CJK font (fonts-wqy-microhei)")
    return shown


def _fallback_title(data: ChartInput, labels: dict[str, str]) -> str:
    if not data.days:
        return labels["fallback_title"]
    first, last = data.days[0], data.days[-1]
    return f"{labels['fallback_title']} {first.month}/{first.day}–{last.month}/{last.day}"


def _draws(text: str, drawable: frozenset[int]) -> bool:
    return all(ord(char) in drawable or char.isspace() for char in text)


# --- fonts -----------------------------------------------------------------------------------------
@functools.cache
def _coverage(families: tuple[str, ...]) -> frozenset[int]:
    """Code points that the first font found for each family can draw."""
    points: set[int] = set()
    for family in families:
        path = font_manager.findfont(FontProperties(family=[family]), fallback_to_default=False)
        points.update(_face(str(path), getattr(path, "face_index", 0)).get_charmap())
    return frozenset(points)


def _face(path: str, index: int) -> FT2Font:
    return FT2Font(path, face_index=index)


def _covers_chinese(path: str, index: int) -> bool:
    try:
        face = _face(path, index)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(face.get_char_index(ord(char)) for char in _PROBE)


def _preferred() -> str | None:
    by_name = {entry.name: entry for entry in font_manager.fontManager.ttflist}
    for name in PREFERRED_FONTS:
        entry = by_name.get(name)
        if entry is not None and _covers_chinese(entry.fname, entry.index):
            return name
    return None


def _any_of(faces: Iterable[tuple[str, int]]) -> str | None:
    """The name matplotlib knows for the first of ``faces`` (path, index) that draws Chinese."""
    entries = {(_real(entry.fname), entry.index): entry.name for entry in font_manager.fontManager.ttflist}
    for path, index in faces:
        name = entries.get((_real(path), index))
        if name is not None and _covers_chinese(path, index):
            return name
    return None


def _add_unknown(paths: Iterable[tuple[str, int]]) -> bool:
    """Add font files matplotlib's (possibly stale) cache does not list; True if any was added."""
    known = {_real(entry.fname) for entry in font_manager.fontManager.ttflist}
    added = False
    for path in dict.fromkeys(_real(path) for path, _ in paths):
        if path in known or not path.lower().endswith(_SCALABLE):
            continue
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError) as exc:
            log.debug("font %s not usable: %s", path, exc)
            continue
        known.add(path)
        added = True
        log.info("added font %s (installed after matplotlib cached its font list)", path)
    return added


def _fc_list_zh() -> list[tuple[str, int]]:
    """(file, face index) of the scalable fonts fontconfig says cover Chinese."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run([fc_list, ":lang=zh", "--format=%{file}|%{index}\\n"], capture_output=True,
                             text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    faces = []
    for line in out.splitlines():
        path, _, index = line.rpartition("|")
        if path.lower().endswith(_SCALABLE):
            faces.append((path, int(index) if index.isdigit() else 0))
    return sorted(faces, key=lambda face: (not _CJK_FILE.search(Path(face[0]).name.lower()), face))


def _cjk_named_files() -> list[tuple[str, int]]:
    return [(path, 0) for path in font_manager.findSystemFonts() if _CJK_FILE.search(Path(path).name.lower())]


def _real(path: str) -> str:
    return str(Path(path).resolve())
