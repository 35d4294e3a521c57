"""Messages count things in words a person reads: "1 job", "2 jobs", never "job(s)"."""

from __future__ import annotations

import re
from pathlib import Path

from data.words import agree, counted

ROOT = Path(__file__).resolve().parent.parent


def test_counted_nouns_agree_with_their_number() -> None:
    assert counted(1, "job") == "1 job" and counted(0, "job") == "0 jobs" and counted(2, "clip") == "2 clips"
    assert counted(3, "entry", "entries") == "3 entries"
    assert counted(12345, "job", thousands=True) == "12,345 jobs"
    assert f"{counted(1, 'file')} {agree(1, 'is', 'are')} missing" == "1 file is missing"
    assert f"{counted(4, 'file')} {agree(4, 'is', 'are')} missing" == "4 files are missing"


def test_no_message_says_a_noun_with_a_bracketed_plural() -> None:
    """A word followed by "(s)" in the source ("job(s)"); a unit such as "Start (s)" has a space before it."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("app", "data", "pages", "components")
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if path.name != "words.py"
        and re.search(r"[\"'][^\"']*[A-Za-z]\(s\)", line)
        and not line.lstrip().startswith("#")
        and "http(s)" not in line
    ]
    assert found == []
