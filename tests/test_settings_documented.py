"""Every setting of api/settings.py is documented: its environment variable is named in
docs/configuration.md or, for the request limits, in docs/limits.md."""

from __future__ import annotations

from pathlib import Path

from api.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_named_in_the_docs() -> None:
    documented = (DOCS / "configuration.md").read_text() + (DOCS / "limits.md").read_text()
    missing = [
        f"NEVERLOG_{name.upper()}"
        for name in Settings.model_fields
        if f"NEVERLOG_{name.upper()}" not in documented
    ]
    assert missing == []
