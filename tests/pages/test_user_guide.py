"""docs/guide/ stays whole: every view in app.py's navigation has its guide page, every image a
page shows exists (taken by tests/e2e/test_guide_screenshots.py) and none is left unused, and the
guide is linked from the README and docs/README.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide"
PAGE_FILES = sorted(set(re.findall(r'"pages/(\w+)\.py"', (ROOT / "app.py").read_text())))


def _guide_page(name: str) -> str:
    """The guide page of ``pages/<name>.py``: its own, or admin.md for every admin page."""
    return "admin.md" if name.startswith("admin") else f"{name}.md"


def _images(page: Path) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", page.read_text())


def test_every_view_of_the_navigation_has_its_guide_page_linked_from_the_index() -> None:
    index = (GUIDE / "README.md").read_text()
    for name in PAGE_FILES:
        page = _guide_page(name)
        assert (GUIDE / page).is_file(), f"no guide page for pages/{name}.py (docs/guide/{page})"
        assert f"]({page})" in index, f"docs/guide/README.md does not link {page}"


def test_every_image_shown_exists_and_none_is_unused() -> None:
    shown = {img for page in GUIDE.glob("*.md") for img in _images(page)}
    missing = sorted(i for i in shown if not (GUIDE / i).is_file())
    assert missing == [], "run PULSE_GUIDE_SHOTS=1 pytest tests/e2e/test_guide_screenshots.py"
    unused = sorted(f"img/{p.name}" for p in (GUIDE / "img").glob("*.png") if f"img/{p.name}" not in shown)
    assert unused == []
    without = sorted({p for p in map(_guide_page, PAGE_FILES) if not _images(GUIDE / p)})
    assert without == []  # every guide page shows its view


def test_the_guide_is_linked_from_both_readmes() -> None:
    assert "(docs/guide/README.md)" in (ROOT / "README.md").read_text()
    assert "(guide/README.md)" in (ROOT / "docs" / "README.md").read_text()
