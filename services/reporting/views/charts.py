"""Server-side SVG bar charts: the dashboard works offline, with nothing to install."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

PALETTE = ("#1f5f8b", "#e07a1f", "#3a9a5b", "#b33c3c", "#7a5ba6", "#8c6d31", "#4f9fb8")


@dataclass
class Series:
    name: str
    values: Sequence[Any]  # numbers, None, or a suppressed marker such as "< 5"


HATCH_ID = "suppressed-hatch"
# a hatched pattern: a hidden cell is drawn as hidden, not as an empty (zero) bar
HATCH = (
    f'<defs><pattern id="{HATCH_ID}" width="6" height="6" patternUnits="userSpaceOnUse"'
    ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2"/></pattern></defs>'
)
HIDDEN_SIZE = 14.0  # px: a hidden cell's bar, the same whatever the value behind it


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0


def hidden(v: Any) -> bool:
    """A disclosure mark ("< 5", "suppressed") instead of a number."""
    return isinstance(v, str)


def _hidden_rect(x: float, y: float, w: float, h: float, title: str) -> str:
    return (
        f'<rect class="suppressed" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}"'
        f' fill="url(#{HATCH_ID})" stroke="#888" stroke-dasharray="3 2"><title>{escape(title)}</title></rect>'
    )


def _label(v: Any, percent: bool) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v * 100:.0f} %" if percent else f"{v:g}"


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    percent: bool = False,
    width: int = 640,
    height: int = 300,
) -> str:
    """Grouped (or stacked) vertical bars with value labels, a legend and an accessible title."""
    left, right, top, bottom = 48, 12, 40, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    if stacked:
        peak = max((sum(_num(s.values[i]) for s in series) for i in range(len(categories))), default=0.0)
    else:
        peak = max((_num(v) for s in series for v in s.values), default=0.0)
    peak = 1.0 if percent else max(peak, 1.0)
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.7 / (1 if stacked else max(len(series), 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        HATCH,
        f'<text x="{left}" y="22" font-size="15" font-weight="bold" fill="#222">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        y = top + plot_h - tick * plot_h
        text = f"{tick * 100:.0f} %" if percent else f"{peak * tick:g}"
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#666">{text}</text>')
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>')
    for i, cat in enumerate(categories):
        x0 = left + i * slot + slot * 0.15
        base: float = top + plot_h
        for k, s in enumerate(series):
            v = s.values[i]
            h = HIDDEN_SIZE if hidden(v) else _num(v) / peak * plot_h
            x = x0 if stacked else x0 + k * bar_w
            y = base - h
            color = PALETTE[k % len(PALETTE)]
            tip = f"{s.name} {cat}: {_label(v, percent)}"
            if hidden(v):
                parts.append(_hidden_rect(x, y, bar_w, h, f"{tip} (suppressed: a small health-data count)"))
            else:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
                    f"<title>{escape(tip)}</title></rect>"
                )
            if not stacked or h >= 12 or hidden(v):
                ly = (y + h / 2 + 4) if stacked else (y - 3)
                fill = "#fff" if stacked and not hidden(v) else "#333"
                parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{ly:.1f}" font-size="10" text-anchor="middle"'
                    f' fill="{fill}">{escape(_label(v, percent))}</text>'
                )
            if stacked:
                base = y
        parts.append(
            f'<text x="{left + i * slot + slot / 2:.1f}" y="{top + plot_h + 16}" font-size="11"'
            f' text-anchor="middle" fill="#333">{escape(cat)}</text>'
        )
    lx: float = left
    for k, s in enumerate(series):
        parts.append(f'<rect x="{lx}" y="{height - 18}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 14}" y="{height - 9}" font-size="11" fill="#333">{escape(s.name)}</text>')
        lx += 22 + 6 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)


def funnel(title: str, steps: Sequence[tuple[str, Any]], width: int = 640) -> str:
    """Horizontal bars, widest first: referrals down to integrations."""
    row, left = 34, 190
    height = 40 + row * len(steps)
    peak = max((_num(v) for _, v in steps), default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        HATCH,
        f'<text x="10" y="22" font-size="15" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]
    for i, (name, value) in enumerate(steps):
        y = 36 + i * row
        w = 3 * HIDDEN_SIZE if hidden(value) else _num(value) / peak * (width - left - 70)
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" font-size="12" text-anchor="end" fill="#333">{escape(name)}</text>'
        )
        if hidden(value):
            parts.append(_hidden_rect(left, y, w, 24, f"{name}: {value} (suppressed)"))
        else:
            parts.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="24" fill="{PALETTE[0]}"'
                f' opacity="{1 - i * 0.15:.2f}"/>'
            )
        label = escape(_label(value, False))
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}" font-size="12" fill="#222">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)
