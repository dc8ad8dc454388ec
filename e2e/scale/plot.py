"""Draws the scale benchmark's growth curve from e2e/results/scale.json as a dependency-free SVG:
memory (the leader's live heap after a full GC, its RSS) and time (cold start to every app Ready,
restarted replica serving the gate) against the number of apps.

    python3 -m e2e.scale.plot e2e/results/scale.json docs/scale.svg
"""
import json
import sys

W, H = 860, 360
PANEL_W, PANEL_H = 340, 240
MARGIN_L, MARGIN_T = 60, 50
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def nice_max(v):
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= v (an axis end)."""
    if v <= 0:
        return 1
    k = 1
    while k * 10 < v:
        k *= 10
    while k > v:
        k /= 10
    for m in (1, 2, 2.5, 5, 10):
        if m * k >= v:
            return m * k
    return 10 * k


def series(data):
    sizes = sorted(data["sizes"], key=lambda s: s["apps"])
    xs = [s["apps"] for s in sizes]

    def leader(s, key):
        return ((s.get("steady") or {}).get("replicas", {}).get("leader") or {}).get(key)

    memory = [("live heap MiB (leader)", [leader(s, "liveHeapMiB") for s in sizes]),
              ("RSS MiB (leader)", [leader(s, "rssMiB") for s in sizes])]
    time = [("cold start s (all Ready)", [s["coldStart"]["allReadySeconds"] for s in sizes]),
            ("restart s (gate serves)", [(s.get("restart") or {}).get("gateServesSeconds") for s in sizes])]
    return xs, memory, time


def panel(x0, title, xs, lines, limit=None):
    out = []
    xmax = nice_max(max(xs) if xs else 1)
    ys = [v for _, vals in lines for v in vals if v is not None] + ([limit[1]] if limit else [])
    ymax = nice_max(max(ys) if ys else 1)

    def px(x):
        return x0 + PANEL_W * x / xmax

    def py(y):
        return MARGIN_T + PANEL_H - PANEL_H * y / ymax

    out.append(f'<text x="{x0 + PANEL_W / 2}" y="{MARGIN_T - 20}" text-anchor="middle" font-weight="bold">{title}</text>')
    out.append(f'<rect x="{x0}" y="{MARGIN_T}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#888"/>')
    for i in range(6):
        yv, xv = ymax * i / 5, xmax * i / 5
        out.append(f'<line x1="{x0}" y1="{py(yv):.1f}" x2="{x0 + PANEL_W}" y2="{py(yv):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 6}" y="{py(yv) + 4:.1f}" text-anchor="end" font-size="11">{yv:g}</text>')
        out.append(f'<text x="{px(xv):.1f}" y="{MARGIN_T + PANEL_H + 16}" text-anchor="middle" font-size="11">{xv:g}</text>')
    out.append(f'<text x="{x0 + PANEL_W / 2}" y="{MARGIN_T + PANEL_H + 34}" text-anchor="middle" font-size="12">'
               'ZeroDowntimeApps (x10 pods)</text>')
    if limit:
        label, value = limit
        out.append(f'<line x1="{x0}" y1="{py(value):.1f}" x2="{x0 + PANEL_W}" y2="{py(value):.1f}" '
                   'stroke="#999" stroke-dasharray="5,4"/>')
        out.append(f'<text x="{x0 + PANEL_W - 4}" y="{py(value) - 4:.1f}" text-anchor="end" font-size="10" fill="#666">{label}</text>')
    for n, (name, vals) in enumerate(lines):
        colour = COLOURS[n % len(COLOURS)]
        pts = [(px(x), py(y)) for x, y in zip(xs, vals) if y is not None]
        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
        out.append(f'<rect x="{x0 + 10}" y="{MARGIN_T + 10 + 16 * n}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x0 + 26}" y="{MARGIN_T + 19 + 16 * n}" font-size="11">{name}</text>')
    return out


def svg(data):
    xs, memory, time = series(data)
    body = panel(MARGIN_L, "Memory", xs, memory, ("RSS target 300 MiB", 300))
    body += panel(MARGIN_L + PANEL_W + 90, "Time", xs, time, ("target 60 s", 60))
    m = data.get("machine") or {}
    note = (f'{m.get("cpus")} CPUs, load at start {m.get("loadAtStart")}; idle window {data.get("idleWindowSeconds")} s; '
            f'commit {data.get("commit")}')
    body.append(f'<text x="{MARGIN_L}" y="{H - 8}" font-size="10" fill="#555">{note}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">\n'
            f'<rect width="{W}" height="{H}" fill="white"/>\n' + "\n".join(body) + "\n</svg>\n")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: python3 -m e2e.scale.plot <scale.json> <out.svg>")
    with open(sys.argv[1]) as f:
        data = json.load(f)
    with open(sys.argv[2], "w") as f:
        f.write(svg(data))


if __name__ == "__main__":
    main()
