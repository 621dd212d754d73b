"""No page ever shows a full phone or ID number: crawl every page each role can reach, in both languages."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.testclient import TestClient

from bot.web.app import Board
from tests.web.conftest import csrf_of, nonce_of, sign_in
from tests.web.seed import ID_NUMBER, PHONES, World

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_CARD = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
HREF = re.compile(r'href="([^"#]+)"')


def crawl(http: TestClient, start: str = "/") -> dict[str, str]:
    """Every page reachable by links from `start`, by path (the query string included)."""
    pages: dict[str, str] = {}
    todo = deque([start])
    while todo and len(pages) < 300:
        path = todo.popleft()
        if path in pages:
            continue
        answer = http.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        pages[path] = answer.text
        for href in HREF.findall(answer.text):
            target = urljoin(path, href.replace("&amp;", "&"))
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or parts.path.startswith(("/static", "/login")) or "lang=" in parts.query:
                continue
            todo.append(target)
    return pages


def leaks(text: str) -> list[str]:
    return (MOBILE.findall(text) + ID_CARD.findall(text)
            + [phone for phone in PHONES if phone in text] + ([ID_NUMBER] if ID_NUMBER in text else []))


@pytest.mark.parametrize("who", ["admin", "zhao", "li"])
def test_no_page_shows_a_full_phone_or_id_number(board: Board, world: World, who: str) -> None:
    http = sign_in(board, world.staff[who])
    for language in ("zh_CN", "en"):
        http.get(f"/?lang={language}")
        pages = crawl(http)
        expected = {"/", "/tickets", "/risk", "/notices", "/customers", "/groups", "/managers",
                    f"/tickets/{world.tickets['li']}", f"/groups/{world.groups['li']}",
                    f"/notices/{world.notices['li']}"}
        assert expected <= set(pages)
        for path, text in pages.items():
            assert leaks(text) == [], (language, path)
        # The data did have them, masked: the pages are not merely empty.
        assert "138****5678" in pages[f"/tickets/{world.tickets['li']}"]
        assert "110***********0021" in pages[f"/tickets/{world.tickets['li']}"]


def test_searching_by_phone_finds_the_customer_but_shows_the_number_masked(board: Board, world: World) -> None:
    http = sign_in(board, world.staff["admin"])
    page = http.get(f"/customers?q={PHONES[0]}").text
    assert "3201234567" in page and "138****5678" in page and leaks(page) == []


def test_what_staff_write_on_the_page_comes_back_masked(board: Board, world: World) -> None:
    http = sign_in(board, world.staff["li"])
    number = world.tickets["li"]
    page = http.get(f"/tickets/{number}").text
    text = f"已联系，客户新号码{PHONES[5]}，身份证{ID_NUMBER}"
    http.post(f"/tickets/{number}/reply", data={"csrf": csrf_of(http), "nonce": nonce_of(page), "text": text})
    shown = http.get(f"/tickets/{number}").text
    assert "177****5678" in shown and leaks(shown) == []
