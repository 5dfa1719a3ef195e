"""Google field masks (``fields=sheets(properties(sheetId,title)),properties.title``)."""

from __future__ import annotations

from typing import Any

from syncer.sandbox.errors import bad_request

Mask = dict[str, "Mask"]  # an empty Mask means "everything below"


def parse_mask(text: str) -> Mask:
    """Parse a field mask into a tree; ``*`` (or an empty text) selects everything."""
    mask: Mask = {}
    clean = text.replace(" ", "").replace("/", ".")  # gspread writes paths with "/"
    pos = _parse_into(mask, clean, 0, top=True)
    if pos != len(clean):
        raise bad_request(f"Invalid field selection {text}")
    return mask


def _parse_into(mask: Mask, text: str, pos: int, top: bool) -> int:
    while pos < len(text):
        start = pos
        while pos < len(text) and text[pos] not in ",()":
            pos += 1
        path = text[start:pos]
        if not path:
            raise bad_request(f"Invalid field selection {text}")
        node = mask
        for name in path.split("."):
            if not name:
                raise bad_request(f"Invalid field selection {text}")
            node = node.setdefault(name, {})
        if pos < len(text) and text[pos] == "(":
            pos = _parse_into(node, text, pos + 1, top=False)
            if pos >= len(text) or text[pos] != ")":
                raise bad_request(f"Invalid field selection {text}")
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == ")":
            if top:
                raise bad_request(f"Invalid field selection {text}")
            return pos
    return pos


def apply_mask(data: Any, mask: Mask) -> Any:
    """Keep only the masked fields of a JSON value (lists are masked element by element)."""
    if not mask or "*" in mask:
        return data
    if isinstance(data, list):
        return [apply_mask(item, mask) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, sub in mask.items():
        if key in data:
            out[key] = apply_mask(data[key], sub)
    return out


def mask_paths(mask: Mask, prefix: str = "") -> list[str]:
    """The leaf paths of a mask (``gridProperties.frozenRowCount``)."""
    paths: list[str] = []
    for key, sub in mask.items():
        path = f"{prefix}{key}"
        if sub:
            paths.extend(mask_paths(sub, path + "."))
        else:
            paths.append(path)
    return paths


def mentions(mask: Mask, *path: str) -> bool:
    """Whether the mask selects something at or below ``path``."""
    node = mask
    if not node or "*" in node:
        return True
    for name in path:
        if name not in node:
            return False
        node = node[name]
        if not node:
            return True
    return True
