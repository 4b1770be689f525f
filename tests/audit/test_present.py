"""An event's changes read the same in the trail page and the CSV export, whichever
shape the event was written in (events are never rewritten: old shapes stay)."""

from __future__ import annotations

from datetime import UTC, datetime

from tenantry.audit.changes import Changes, changed, new_value, set_to, stored
from tenantry.audit.present import change_lines, change_text


def test_the_pair_shape_shows_old_and_new() -> None:
    kept = stored(changed("display_name", "Contoso Ltd", "Contoso Group"))
    assert change_lines(kept) == ["display_name: Contoso Ltd → Contoso Group"]
    assert change_lines(stored(set_to(email="a@b.example"))) == ["email: — → a@b.example"]
    assert change_lines({"status": ["active", "active"]}) == []  # nothing changed


def test_older_shapes_still_read_sensibly() -> None:
    assert change_lines({"status": {"from": "active", "to": "suspended"}}) == [
        "status: active → suspended"
    ]
    assert change_lines({"pruned_through_seq": 3}) == ["pruned_through_seq: 3"]
    assert change_lines({"reason": None}) == ["reason: —"]
    assert change_lines({"ceiling": {"added": "tickets:read", "removed": ""}}) == [
        "ceiling: added tickets:read"
    ]


def test_long_lines_are_cut_for_a_cell_but_not_for_the_export() -> None:
    stored = {"note": [None, "x" * 300]}
    (line,) = change_lines(stored)
    assert len(line) <= 160 and line.endswith("…")
    assert change_text(stored).endswith("x" * 300)
    assert change_text({"a": [1, 2], "b": 3}) == "a: 1 → 2; b: 3"


def test_an_old_or_new_pruned_event_names_its_anchor() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    new = stored(Changes({"pruned_through_seq": (None, 3), "pruned_before": (None, at)}))
    assert new_value(new, "pruned_through_seq") == 3
    assert new_value({"pruned_through_seq": 3}, "pruned_through_seq") == 3
    assert new_value({}, "anchor_hash") is None
