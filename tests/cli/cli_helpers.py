"""Helpers shared by the CLI's tests."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

HEADER = "post_id,media,caption,platform,account,intent,dispatch_at,options"


def write_manifest(directory: Path, *rows: str, header: str | None = None) -> Path:
    """A manifest in ``directory`` with the standard header and these rows."""
    header = header or HEADER
    path = directory / "campaign.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path
