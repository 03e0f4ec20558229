"""Project a decoded payload onto what ``workflow inspect --json --withData`` prints.

Our decoded values keep what the CLI's JSON output loses (header lists, Map entries, the
type of a Request). To compare our decoding with a CLI capture, or to import CLI JSON and
raw logs side by side, project ours with `cli_view`. The rules follow the CLI's display
revivers and ``JSON.stringify``: a Request or Response becomes its plain fields; Headers,
Map, Set, URLSearchParams and RegExp become ``{}``; streams become
``{"__type":"__workflow_stream_ref__","streamId":"strm_…"}``; step functions
``"<step:id>"``; classes ``"<class:Name>"``; class instances the CLI's
``__workflow_class_instance_ref__`` object. Everything else is unchanged. Only the Request,
Headers and stream rules are confirmed by captured CLI output; the others follow the
documented behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

STREAM_REF_TYPE: Final = "__workflow_stream_ref__"
CLASS_INSTANCE_REF_TYPE: Final = "__workflow_class_instance_ref__"
_EMPTY_IN_JSON: Final = frozenset({"Headers", "Map", "Set", "URLSearchParams", "RegExp"})
_STREAMS: Final = frozenset({"ReadableStream", "WritableStream", "TransformStream"})


def cli_view(value: object) -> object:
    """Return a copy of `value` as the CLI would show it (iterative; any depth)."""
    value = _project(value)
    if not isinstance(value, dict | list):
        return value
    root: dict[str, object] | list[object] = {} if isinstance(value, dict) else []
    stack: list[tuple[Iterator[tuple[str | None, object]], dict[str, object] | list[object]]]
    stack = [(_members(value), root)]
    while stack:
        members, out = stack[-1]
        for key, member in members:
            child = _project(member)
            if isinstance(child, dict | list):
                made: dict[str, object] | list[object] = {} if isinstance(child, dict) else []
                _put(out, key, made)
                stack.append((_members(child), made))
                break
            _put(out, key, child)
        else:
            stack.pop()
    return root


def _members(value: dict[str, object] | list[object]) -> Iterator[tuple[str | None, object]]:
    if isinstance(value, dict):
        return iter(value.items())
    return ((None, v) for v in value)


def _put(out: dict[str, object] | list[object], key: str | None, value: object) -> None:
    if isinstance(out, list):
        out.append(value)
    else:
        assert key is not None
        out[key] = value


def _project(value: object) -> object:
    """Apply the CLI rule for one node (its members are projected later)."""
    if not isinstance(value, dict):
        return value
    kind = value.get("__type")
    if not isinstance(kind, str):
        return value
    if kind in ("Request", "Response"):
        return {k: v for k, v in value.items() if k != "__type"}
    if kind in _EMPTY_IN_JSON:
        return {}
    if kind in _STREAMS:
        name = value.get("name")
        stream_id = "strm_null" if name is None else str(name)
        if not stream_id.startswith("strm_"):
            stream_id = f"strm_{stream_id}"
        return {"__type": STREAM_REF_TYPE, "streamId": stream_id}
    if kind == "StepFunction":
        return f"<step:{value.get('stepId')}>" if "stepId" in value else "<function>"
    if kind == "Class":
        return f"<class:{_class_name(value.get('classId'))}>"
    if kind == "Instance":
        class_id = value.get("classId")
        return {
            "__type": CLASS_INSTANCE_REF_TYPE,
            "className": _class_name(class_id),
            "classId": class_id,
            "data": value.get("data"),
        }
    return value


def _class_name(class_id: object) -> str:
    if not isinstance(class_id, str) or not class_id:
        return "Unknown"
    return class_id.rsplit("/", 1)[-1] or class_id
