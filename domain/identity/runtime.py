"""The ids of the merge workflows, which every layer may import (the store writes them on merge rows)."""

from __future__ import annotations


def merge_workflow_id(workspace_id: str, merge_id: str) -> str:
    """One merge workflow per merge row: deterministic, so a start repeated after a crash is refused by Temporal
    (a contact merged, unmerged and merged again is a new merge row, hence a new id)."""
    return f"contact-merge:{workspace_id}:{merge_id}"


def unmerge_workflow_id(workspace_id: str, merge_id: str) -> str:
    return f"contact-unmerge:{workspace_id}:{merge_id}"
