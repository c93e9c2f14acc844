"""config/README.md documents every key the config schema accepts."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _keys(node, found: set[str]) -> set[str]:
    """Every property name anywhere in a JSON schema (conditional and shared parts included)."""
    if isinstance(node, dict):
        found |= set(node.get("properties", {}))
        for value in node.values():
            _keys(value, found)
    elif isinstance(node, list):
        for value in node:
            _keys(value, found)
    return found


def test_every_schema_key_is_documented():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    keys = _keys(schema, set())
    doc = (REPO / "config/README.md").read_text()
    named = {word for span in re.findall(r"`([^`]+)`", doc) for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}
    assert len(keys) > 50
    assert sorted(keys - named) == []
