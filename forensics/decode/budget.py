"""The budget of one decoded payload: how large it may be once written out as JSON.

devalue slots and CBOR value-sharing (tags 28/29) let a few hundred bytes name the same
value many times over; the decoders keep such values shared, but writing them out (as JSON
text, or copying them into JSON-safe values) expands every reference. A 686-byte devalue
text of 40 slots `[i+1, i+1]` is 2^40 leaves. `check_expanded` measures the expanded size
without expanding (each shared value is sized once) and raises `DecodeError` past the
budget, so the payload is kept raw with format ``invalid`` and the reason.
"""

from __future__ import annotations

from typing import Final

from forensics.decode.errors import DecodeError

MAX_NODES: Final = 2_000_000  # values (containers and leaves) once expanded
MAX_TEXT: Final = 64 * 2**20  # characters of strings once expanded
MAX_DEPTH: Final = 255  # containers inside containers: what the store's JSON writer takes


def check_expanded(value: object, context: str, *, max_depth: int | None = MAX_DEPTH) -> None:
    """Raise `DecodeError` when `value`, written out as a tree, exceeds the budget
    (`max_depth=None`: any depth; the store's JSON writer then refuses what is too deep)."""
    sizes: dict[int, tuple[int, int, int]] = {}  # id -> (nodes, characters, depth)
    stack: list[tuple[object, bool]] = [(value, False)]
    open_ids: set[int] = set()
    while stack:
        node, built = stack.pop()
        key = id(node)
        children = _children(node)
        if built:
            nodes, text, depth = 1, 0, 0
            for child in children:
                n, t, d = sizes.get(id(child)) or _leaf(child)
                nodes, text, depth = nodes + n, text + t, max(depth, d)
            sizes[key] = (nodes, text, depth + 1)
            open_ids.discard(key)
            _check(sizes[key], context, max_depth)
            continue
        if key in sizes or key in open_ids:
            continue
        open_ids.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if isinstance(c, dict | list | tuple))


def _children(node: object) -> list[object]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list | tuple):
        return list(node)
    return []


def _leaf(value: object) -> tuple[int, int, int]:
    """A leaf's size (a container met on its own path, a cycle, counts as one node)."""
    if isinstance(value, str | bytes):
        return 1, len(value), 0
    return 1, 0, 0


def _check(size: tuple[int, int, int], context: str, max_depth: int | None) -> None:
    nodes, text, depth = size
    if nodes > MAX_NODES:
        raise DecodeError(
            f"expands to more than {MAX_NODES:,} values (shared references written out);"
            " over the budget per payload",
            context=context,
        )
    if text > MAX_TEXT:
        raise DecodeError(
            f"expands to more than {MAX_TEXT // 2**20} MiB of text (shared references"
            " written out); over the budget per payload",
            context=context,
        )
    if max_depth is not None and depth > max_depth:
        raise DecodeError(
            f"nested deeper than {max_depth} levels; over the budget per payload",
            context=context,
        )
