"""Every setting is documented in one place, docs/settings.md, with its default."""

from __future__ import annotations

from pathlib import Path

import msgspec

from exchange.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_in_docs_settings_md() -> None:
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| `ENCORE_")]
    documented = {name.strip("` ") for row in rows for name in row.split("|")[1].split(",")}
    missing = [f"ENCORE_{f.name.upper()}" for f in msgspec.structs.fields(Settings)]
    missing = [name for name in missing if name not in documented]
    assert missing == [], f"add these to docs/settings.md with their defaults: {missing}"
    assert all(len(row.split("|")) >= 4 and row.split("|")[2].strip() for row in rows)  # a default column
