"""After sign-in the browser goes only to a path of this site, whatever `next` says (open redirect)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.services.browser_sessions import DEFAULT_NEXT, safe_next

ORIGIN = "https://studio.example"

# What browsers do to a Location or an assigned href before resolving it (WHATWG URL parser):
# leading and trailing C0 controls and spaces are stripped, tabs and newlines removed anywhere,
# and in http(s) URLs a backslash is a slash.
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))


def browser_resolves(location: str, base: str = f"{ORIGIN}/login") -> str:
    cleaned = location.strip(_C0_AND_SPACE)
    cleaned = "".join(ch for ch in cleaned if ch not in "\t\n\r").replace("\\", "/")
    return urljoin(base, cleaned)


def same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == ORIGIN


@pytest.mark.parametrize(
    "target",
    [
        "/\\evil.example/a",
        "/\t/evil.example/b",
        "/\n/evil.example",
        "/\r/evil.example",
        "\t//evil.example",
        " //evil.example",
        "//evil.example",
        "///evil.example",
        "\\\\evil.example",
        "\\/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/\x00/evil.example",
        "/\u2028/evil.example",
        "/\u200b/x",
        "/..//evil.example",
        "/./\\evil.example",
        "",
        None,
    ],
)
def test_other_sites_and_odd_paths_fall_back_to_the_projects(target: str | None) -> None:
    assert safe_next(target) == DEFAULT_NEXT


@pytest.mark.parametrize(
    "target",
    ["/projects", "/projects/3", "/queue?project_id=3&status=failed", "/scenes/2?clip=5#top", "/account", "/"],
)
def test_paths_of_this_site_are_kept_as_they_are(target: str) -> None:
    assert safe_next(target) == target


_ALPHABET = st.sampled_from([*"/\\\t\n\r .:@?#%a-eE=&", "\x00", "\x7f", "\x85", "\u2028", "\uff0f", "\u3002"])


@settings(max_examples=600, deadline=None)
@given(st.text(_ALPHABET, max_size=24) | st.text(max_size=24))
@example("/\\evil.example/a")
@example("/\t/evil.example/b")
@example("/%2F%2Fevil.example")
def test_whatever_next_says_the_browser_stays_on_this_site(target: str) -> None:
    result = safe_next(target)
    assert result == DEFAULT_NEXT or result == target  # kept or replaced, never repaired
    assert result.startswith("/") and not result.startswith("//") and "\\" not in result
    resolved = browser_resolves(result)
    assert same_origin(resolved), f"{target!r} → {result!r} → {resolved!r}"
    assert not urlsplit(resolved).path.startswith("//")
