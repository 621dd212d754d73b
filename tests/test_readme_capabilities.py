"""The README's table of what each platform allows says what handlers/channels.py says."""

from __future__ import annotations

from pathlib import Path

from handlers.channels import TELEGRAM, WECOM, Capabilities

ROWS = {  # the README row → the flag it states
    "group text reaches the bot as it is posted": lambda c: c.group_text_live,
    "the bot posts into a group": lambda c: c.posts_to_groups,
    "delete a customer's message": lambda c: c.deletes_messages,
    "mute a member": lambda c: c.restricts_members,
    "buttons in a private chat": lambda c: c.buttons_private,
    "buttons in a group": lambda c: c.buttons_group,
    "pictures (the digest's chart)": lambda c: c.photos,
    "groups one notice call addresses": lambda c: c.groups_per_broadcast,
}


def stated(cell: str) -> bool | int:
    word = cell.strip().split(":")[0].strip()
    return int(word) if word.isdigit() else {"yes": True, "no": False}[word]


def test_the_readme_capability_table_matches_the_flags() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in ROWS:
            table[cells[0]] = (stated(cells[1]), stated(cells[2]))
    assert set(table) == set(ROWS)
    flags: tuple[Capabilities, Capabilities] = (TELEGRAM, WECOM)
    for row, flag in ROWS.items():
        assert table[row] == tuple(flag(c) for c in flags), row
