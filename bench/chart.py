"""A hand-written SVG bar chart of the ratios ours / peer (log scale), with the targets marked."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

COLORS = {"uacme": "#4e79a7", "certbot": "#f28e2b", "lego": "#59a14f"}
LEFT, RIGHT, TOP, ROW, GAP = 330, 140, 70, 18, 14
LOW, HIGH = 0.01, 10.0  # ratio axis, log scale


def _x(ratio: float, width: float) -> float:
    ratio = min(max(ratio, LOW), HIGH)
    return LEFT + (math.log10(ratio) - math.log10(LOW)) / (math.log10(HIGH) - math.log10(LOW)) * width


def write_chart(results: dict[str, Any], path: Path) -> None:
    """One group of bars per scenario: ours/peer, median of the run-by-run ratios."""
    groups: list[tuple[str, list[tuple[str, float, str]], float | None]] = []
    for key, section in results.get("scenarios", {}).items():
        bars = []
        for label, ratio in section.get("ratios_ours_over_peer", {}).items():
            if ratio.get("median") is not None:
                peer, _, variant = label.partition(" [")
                how = variant.rstrip("]").replace("zerossl-tui", "").strip(" ()")
                text = f"vs {peer}" + (f" (ours: {how})" if how else "")
                bars.append((text, float(ratio["median"]), COLORS.get(peer, "#999")))
        target = section.get("target", {})
        if bars:
            groups.append((f"{key}: {section.get('short', section.get('title', ''))}", bars, target.get("max_ratio")))
    plot_w = 560
    height = TOP + sum(GAP + 18 + len(b) * ROW for _, b, _ in groups) + 60
    width = LEFT + plot_w + RIGHT
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
           "zerossl-tui time / peer time (lower is better; log scale)</text>",
           f'<text x="{width / 2}" y="40" text-anchor="middle" fill="#555">median of run-by-run ratios, '
           f'{escape(results.get("machine", {}).get("date", ""))}; dashed red: target; 1.0 = as fast</text>']
    axis_y0, axis_y1 = TOP - 8, height - 45
    for tick in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10):
        x = _x(tick, plot_w)
        strong = tick == 1
        out.append(f'<line x1="{x:.1f}" y1="{axis_y0}" x2="{x:.1f}" y2="{axis_y1}" '
                   f'stroke="{"#333" if strong else "#ddd"}" stroke-width="{1.5 if strong else 1}"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y1 + 15}" text-anchor="middle" fill="#333">{tick:g}x</text>')
    y = TOP
    for title, bars, target in groups:
        out.append(f'<text x="8" y="{y + 12}" font-weight="bold">{escape(title[:70])}</text>')
        y += 18
        group_top = y
        for label, ratio, color in bars:
            x0, x1 = _x(LOW, plot_w), _x(ratio, plot_w)
            out.append(f'<text x="{LEFT - 8}" y="{y + 12}" text-anchor="end">{escape(label)}</text>')
            out.append(f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1):.1f}" height="{ROW - 5}" '
                       f'fill="{color}"/>')
            out.append(f'<text x="{x1 + 5:.1f}" y="{y + 12}" fill="#222">{ratio:.3g}x</text>')
            y += ROW
        if target is not None:
            tx = _x(target, plot_w)
            out.append(f'<line x1="{tx:.1f}" y1="{group_top}" x2="{tx:.1f}" y2="{y}" stroke="#d62728" '
                       'stroke-width="2" stroke-dasharray="5,3"/>')
            out.append(f'<text x="{tx + 4:.1f}" y="{group_top - 3}" fill="#d62728" font-size="11">'
                       f'target {target:g}x vs uacme</text>')
        y += GAP
    listing = results.get("scenarios", {}).get("e") or results.get("list")
    if listing:
        got = listing.get("target", {}).get("seconds")
        out.append(f'<text x="8" y="{height - 12}" fill="#333">e: list --json over {listing.get("count")} '
                   f'certificates: {got} s (target 0.5 s, absolute: no peer)</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")
