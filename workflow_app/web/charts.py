"""Charts and workflow diagrams drawn on the server as SVG (no script, no inline style).

Every chart is ``<svg role="img" aria-labelledby=…>`` with a ``<title>`` and a ``<desc>``; the
page puts a data table beside it, which is the accessible source of the same numbers. Colours
and fonts come from classes in the stylesheets (``kinerja.css``, ``monitoring.css``): the
Content-Security-Policy allows no ``style`` attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from state_machines.core import WorkflowDefinition

# Average width of a character of the charts' 11 px sans-serif text (for layout only).
CHAR_W = 6.2


def _fit(text: str, width: float) -> str:
    """``text`` cut with an ellipsis to about ``width`` pixels."""
    most = max(int(width // CHAR_W), 4)
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _svg(
    chart_id: str, title: str, desc: str, width: float, height: float, body: list[str], css: str
) -> Markup:
    return Markup(
        f'<svg class="{css}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


# --- bar charts --------------------------------------------------------------------------------


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, int, str]],
    *,
    desc: str = "",
    width: int = 640,
    label_width: int = 200,
) -> Markup:
    """Horizontal bars, one per ``(label, value, css class)``, scaled to the largest value."""
    row_h, bar_h, top = 24, 16, 6
    value_room = 56
    scale_w = width - label_width - value_room
    most = max([v for _, v, _ in bars] + [1])
    body = []
    for i, (label, value, css) in enumerate(bars):
        y = top + i * row_h
        w = scale_w * value / most
        body.append(
            f'<g class="kj-chart-row"><text class="kj-chart-label" x="{label_width - 8}" y="{y + bar_h - 4}" '
            f'text-anchor="end">{escape(_fit(label, label_width - 12))}</text>'
            f'<rect class="kj-bar {css}" x="{label_width}" y="{y}" width="{max(w, 0):.1f}" height="{bar_h}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text class="kj-chart-value" x="{label_width + w + 6:.1f}" y="{y + bar_h - 4}">{value}</text></g>'
        )
    body.insert(
        0,
        f'<line class="kj-axis" x1="{label_width}" y1="0" x2="{label_width}" y2="{top + len(bars) * row_h}"/>',
    )
    return _svg(chart_id, title, desc, width, top * 2 + len(bars) * row_h, body, "kj-chart")


def stacked_bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[tuple[str, str]],
    *,
    desc: str = "",
    width: int = 640,
    label_width: int = 200,
) -> Markup:
    """One horizontal bar per ``(label, values)``, split into ``series`` (name, css class), with a
    legend above; bars are scaled to the largest row total."""
    row_h, bar_h = 24, 16
    value_room = 56
    scale_w = width - label_width - value_room
    body = []
    # The legend: swatches and names, wrapped onto as many lines as they need.
    x, y = 0.0, 4
    for name, css in series:
        item_w = 14 + 6 + len(name) * CHAR_W + 16
        if x + item_w > width and x > 0:
            x, y = 0.0, y + 18
        body.append(
            f'<rect class="kj-swatch {css}" x="{x:.1f}" y="{y}" width="12" height="12"/>'
            f'<text class="kj-chart-label" x="{x + 18:.1f}" y="{y + 10}">{escape(name)}</text>'
        )
        x += item_w
    top = y + 24
    most = max([sum(v) for _, v in rows] + [1])
    for i, (label, values) in enumerate(rows):
        ry = top + i * row_h
        body.append(
            f'<text class="kj-chart-label" x="{label_width - 8}" y="{ry + bar_h - 4}" text-anchor="end">'
            f"{escape(_fit(label, label_width - 12))}</text>"
        )
        x = float(label_width)
        for (name, css), value in zip(series, values, strict=True):
            if value <= 0:
                continue
            w = scale_w * value / most
            body.append(
                f'<rect class="kj-bar {css}" x="{x:.1f}" y="{ry}" width="{w:.1f}" height="{bar_h}">'
                f"<title>{escape(label)}, {escape(name)}: {value}</title></rect>"
            )
            x += w
        body.append(f'<text class="kj-chart-value" x="{x + 6:.1f}" y="{ry + bar_h - 4}">{sum(values)}</text>')
    height = top + max(len(rows), 1) * row_h + 6
    body.insert(
        0, f'<line class="kj-axis" x1="{label_width}" y1="{top - 4}" x2="{label_width}" y2="{height - 6}"/>'
    )
    return _svg(chart_id, title, desc, width, height, body, "kj-chart")


# --- workflow diagrams -------------------------------------------------------------------------

ANY_OPEN = "*"  # the pseudo-state "any open state" of a transition from every open state


@dataclass
class _Node:
    name: str
    layer: int
    column: int
    lines: list[tuple[str, str]] = field(default_factory=list)  # (text, css class)
    x: float = 0.0  # centre
    y: float = 0.0  # top
    w: float = 0.0
    h: float = 0.0


@dataclass
class _Edge:
    src: str
    dst: str
    label: str


def _layers(definition: WorkflowDefinition, edges: list[_Edge]) -> tuple[dict[str, int], list[str]]:
    """Layer of every state: the longest path from the initial state is the main chain, one
    layer per step; a state off the chain sits one layer below its first predecessor; terminal
    states share the bottom layer."""
    states = list(definition.states)
    succ: dict[str, list[str]] = {s: [] for s in states}
    for e in edges:
        if e.src in succ:
            succ[e.src].append(e.dst)
    best: dict[str, list[str]] = {}

    def longest(s: str, seen: frozenset[str]) -> list[str]:
        if s in best and not seen & set(best[s]):
            return best[s]
        tails = [longest(t, seen | {s}) for t in succ[s] if t not in seen and t != s]
        path = [s] + max(tails, key=len, default=[])
        best[s] = path
        return path

    chain = longest(definition.initial, frozenset())
    layer = {s: i for i, s in enumerate(chain)}
    changed = True
    while changed:
        changed = False
        for e in edges:
            if e.src in layer and e.dst not in layer and not definition.states[e.dst].terminal:
                layer[e.dst] = layer[e.src] + 1
                changed = True
    bottom = max(layer.values(), default=0)
    for s in states:
        if definition.states[s].terminal:
            layer[s] = bottom
        layer.setdefault(s, bottom)
    return layer, chain


def workflow_diagram(
    definition: WorkflowDefinition,
    chart_id: str,
    title: str,
    state_text: Callable[[str], str],
    event_text: Callable[[str], str],
    *,
    any_open_text: str = "Any open state",
    desc: str = "",
) -> Markup:
    """The definition's states as boxes in layers (the main path straight down, other states to
    its right) and its transitions as labelled arrows; reflexive events are listed in their box."""
    open_states = [s for s, st in definition.states.items() if not st.terminal]
    edges: list[_Edge] = []
    loops: dict[str, list[str]] = {}
    for t in definition.transitions.values():
        if len(t.source) > 2 and set(t.source) == set(open_states):
            edges.append(_Edge(ANY_OPEN, t.dest, event_text(t.event)))
            continue
        for s in t.source:
            if t.target(s) == s:
                loops.setdefault(s, []).append(event_text(t.event))
            else:
                edges.append(_Edge(s, t.target(s), event_text(t.event)))
    layer, chain = _layers(definition, [e for e in edges if e.src != ANY_OPEN])
    bottom = max(layer.values())
    nodes: dict[str, _Node] = {}
    columns: dict[int, int] = {}
    for s in chain:
        nodes[s] = _Node(s, layer[s], 0)
        columns[layer[s]] = 1
    for s in definition.states:
        if s not in nodes:
            col = columns.get(layer[s], 0)
            nodes[s] = _Node(s, layer[s], col)
            columns[layer[s]] = col + 1
    if any(e.src == ANY_OPEN for e in edges):
        target = next(e.dst for e in edges if e.src == ANY_OPEN)
        nodes[ANY_OPEN] = _Node(ANY_OPEN, max(nodes[target].layer - 1, 0), nodes[target].column)

    # Box sizes: the label, the state's name, and its reflexive events.
    box_w = 184.0
    for n in nodes.values():
        if n.name == ANY_OPEN:
            n.lines = [(any_open_text, "kj-node-label")]
        else:
            n.lines = [(state_text(n.name), "kj-node-label"), (n.name, "kj-node-name")]
            n.lines += [(f"↻ {text}", "kj-node-loop") for text in loops.get(n.name, [])]
        n.w = box_w
        n.h = 12 + 15 * len(n.lines)

    # Long edges (two layers or more, or along the chain upwards) run in lanes left of the chain.
    def is_lane(e: _Edge) -> bool:
        a, b = nodes[e.src], nodes[e.dst]
        return a.column == 0 and b.column == 0 and (b.layer - a.layer >= 2 or b.layer < a.layer - 1)

    lane_edges = [e for e in edges if is_lane(e)]
    lanes: list[list[tuple[int, int]]] = []
    lane_of: dict[int, int] = {}
    for i, e in sorted(
        enumerate(lane_edges), key=lambda p: abs(nodes[p[1].dst].layer - nodes[p[1].src].layer)
    ):
        lo, hi = sorted((nodes[e.src].layer, nodes[e.dst].layer))
        for k, used in enumerate(lanes):
            if all(hi < a or lo > b for a, b in used):
                used.append((lo, hi))
                lane_of[i] = k
                break
        else:
            lanes.append([(lo, hi)])
            lane_of[i] = len(lanes) - 1

    lane_gap, margin, layer_gap, col_gap = 20.0, 12.0, 44.0, 170.0
    heights = {}
    for n in nodes.values():
        heights[n.layer] = max(heights.get(n.layer, 0), n.h)
    y_of, y = {}, margin
    for i in range(bottom + 1):
        y_of[i] = y
        y += heights.get(i, 30) + layer_gap
    x0 = margin + len(lanes) * lane_gap + 8 + box_w / 2
    for n in nodes.values():
        n.x = x0 + n.column * (box_w + col_gap)
        n.y = y_of[n.layer] + (heights[n.layer] - n.h) / 2
    width = max(n.x + n.w / 2 for n in nodes.values()) + margin
    height = y - layer_gap + margin

    body = [
        f'<defs><marker id="{chart_id}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="kj-arrowhead" d="M0,0 L10,5 L0,10 z"/>'
        "</marker></defs>"
    ]
    arrow = f'marker-end="url(#{chart_id}-arrow)"'
    labels: list[str] = []

    def label_at(x: float, y: float, text: str, anchor: str = "middle", rotate: bool = False) -> None:
        turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
        labels.append(
            f'<text class="kj-edge-label" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{turn}>'
            f"{escape(text)}</text>"
        )

    pairs = {(e.src, e.dst) for e in edges}
    for i, e in enumerate(lane_edges):
        a, b = nodes[e.src], nodes[e.dst]
        lx = margin + (len(lanes) - 1 - lane_of[i]) * lane_gap + 4
        ya, yb = a.y + a.h / 2, b.y + b.h / 2
        left_a, left_b = a.x - a.w / 2, b.x - b.w / 2
        body.append(
            f'<path class="kj-edge" d="M{left_a:.1f},{ya:.1f} H{lx:.1f} V{yb:.1f} H{left_b:.1f}" {arrow}/>'
        )
        label_at(lx - 4, (ya + yb) / 2, e.label, rotate=True)
    for e in edges:
        if e in lane_edges:
            continue
        a, b = nodes[e.src], nodes[e.dst]
        both_ways = (e.dst, e.src) in pairs
        if a.column == b.column:
            # straight down (or up) between two boxes of one column
            shift = (-16 if b.layer > a.layer else 16) if both_ways else 0
            x = a.x + shift
            y1, y2 = (a.y + a.h, b.y) if b.layer > a.layer else (a.y, b.y + b.h)
            body.append(f'<path class="kj-edge" d="M{x:.1f},{y1:.1f} V{y2:.1f}" {arrow}/>')
            if shift < 0:
                label_at(x - 6, (y1 + y2) / 2 + 4, e.label, "end")
            else:
                label_at(x + 6, (y1 + y2) / 2 + 4, e.label, "start")
        else:
            # across columns: from the facing sides, a little apart when both ways exist
            right = b.column > a.column
            x1 = a.x + (a.w / 2 if right else -a.w / 2)
            x2 = b.x - (b.w / 2 if right else -b.w / 2)
            shift = (-7 if right else 7) if both_ways else 0
            y1 = a.y + a.h / 2 + shift
            y2 = b.y + b.h / 2 + shift
            body.append(f'<path class="kj-edge" d="M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}" {arrow}/>')
            t = 0.5
            lx, ly = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
            label_at(lx, ly + (-5 if shift <= 0 else 13), e.label)
    for n in nodes.values():
        css = (
            "kj-node kj-node-any"
            if n.name == ANY_OPEN
            else ("kj-node kj-node-terminal" if definition.states[n.name].terminal else "kj-node")
        )
        if n.name == definition.initial:
            css += " kj-node-initial"
        body.append(
            f'<rect class="{css}" x="{n.x - n.w / 2:.1f}" y="{n.y:.1f}" width="{n.w:.0f}" height="{n.h:.0f}" '
            f'rx="8"/>'
        )
        for k, (text, line_css) in enumerate(n.lines):
            body.append(
                f'<text class="{line_css}" x="{n.x:.1f}" y="{n.y + 18 + 15 * k:.1f}" text-anchor="middle">'
                f"{escape(_fit(text, n.w - 10))}</text>"
            )
    return _svg(chart_id, title, desc, width, height, body + labels, "kj-chart kj-diagram")
