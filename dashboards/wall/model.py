"""The wall's view model and its partial updates.

A scene is described twice from the same numbers: a *model* (component id -> the props that
change: texts, classes, figure values) and a *layout* built from that model. The browser gets
the layout once per scene (or language) change; after that each tick sends only the props whose
value differs from what this browser last received (``dash.set_props``; figures through
``Patch`` of just the changed points). The browser echoes the version it holds, and the server
keeps a bounded cache of recent models by version to diff against: nothing grows on the client,
and a browser whose version fell out of the cache (or hit another web instance) simply gets the
full scene again.

Props whose name starts with ``~`` are figure updates, not component props:
``{"~points": {"trace": i, "attr": "marker.color", "values": [...]}}`` patches the figure's
trace ``i`` at the changed list positions only; ``{"trace": i, "attr": "fillcolor", "value": v}``
sets one scalar.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Mapping

from dash import Patch, html

Model = dict[str, dict[str, Any]]


def version_of(model: Mapping[str, Any]) -> str:
    blob = json.dumps(model, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


def _figure_patch(old: dict[str, Any] | None, new: dict[str, Any]) -> Patch | None:
    """A Patch setting the changed positions of one figure list (all of it when its shape changed)."""
    patch = Patch()
    node = patch["data"][new["trace"]]
    *parents, leaf = new["attr"].split(".")
    for part in parents:
        node = node[part]
    if "value" in new:  # one scalar (e.g. a province's fill colour)
        node[leaf] = new["value"]
        return patch
    values = new["values"]
    if old is None or old.get("trace") != new["trace"] or old.get("attr") != new["attr"] \
            or len(old["values"]) != len(values):
        node[leaf] = values
        return patch
    changed = [i for i, (a, b) in enumerate(zip(old["values"], values)) if a != b]
    if not changed:
        return None
    if len(changed) > len(values) // 2:  # cheaper as one list
        node[leaf] = values
    else:
        for i in changed:
            node[leaf][i] = values[i]
    return patch


def diff(old: Model | None, new: Model) -> dict[str, dict[str, Any]]:
    """Props to set so that a browser showing ``old`` shows ``new`` (figure lists as Patches)."""
    out: dict[str, dict[str, Any]] = {}
    for cid, props in new.items():
        before = (old or {}).get(cid, {})
        changed: dict[str, Any] = {}
        for prop, value in props.items():
            if prop in before and before[prop] == value:
                continue
            if prop.startswith("~"):
                patch = _figure_patch(before.get(prop), value)
                if patch is not None:
                    changed.setdefault("figure", []).append(patch)
            else:
                changed[prop] = value
        if "figure" in changed:  # several list patches of one figure: merge into one Patch
            patches = changed.pop("figure")
            merged = patches[0]
            for p in patches[1:]:
                merged._operations.extend(p._operations)  # Patch has no public merge
            changed["figure"] = merged
        if changed:
            out[cid] = changed
    return out


class ModelCache:
    """Recent models by version (bounded LRU), shared by every browser of this process: each
    version's models by part (the wall's chrome and scene)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, dict[str, Model]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, version: str, models: dict[str, Model]) -> None:
        with self._lock:
            self._items[version] = models
            self._items.move_to_end(version)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, version: str | None) -> dict[str, Model] | None:
        if not isinstance(version, str):
            return None
        with self._lock:
            model = self._items.get(version)
            if model is not None:
                self._items.move_to_end(version)
            return model

    def __len__(self) -> int:
        return len(self._items)


def slot(model: Model, cid: str, tag: type = html.Div, **kwargs: Any) -> Any:
    """A component whose changing props come from the model (so layout and updates agree)."""
    props = {k: v for k, v in model.get(cid, {}).items() if not k.startswith("~")}
    return tag(id=cid, **{**kwargs, **props})


def put(model: Model, cid: str, **props: Any) -> None:
    model.setdefault(cid, {}).update(props)


def put_row(model: Model, rid: str, cells: list[str], className: str = "") -> None:
    """A table row: its class on the row, each cell's text on its own id (``{rid}-{j}``)."""
    put(model, rid, className=className)
    for j, cell in enumerate(cells):
        put(model, f"{rid}-{j}", children=cell)


def row(model: Model, rid: str, cells: int) -> html.Tr:
    return slot(model, rid, html.Tr, children=[slot(model, f"{rid}-{j}", html.Td) for j in range(cells)])
