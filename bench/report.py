#!/usr/bin/python3
"""report.py RESULTS.jsonl [--markdown] - the benchmark results as a table:
figure, goal, met?, peer and the ratio figure/peer."""

import json
import sys


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return "%.3f s" % v if v < 10 else "%.1f s" % v
    if isinstance(v, int):
        return "%d %s" % (v, unit)
    return ("%.3g %s" % (v, unit)).strip()


def main():
    rows = []
    with open(sys.argv[1]) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    md = "--markdown" in sys.argv
    head = ["benchmark", "figure", "value", "goal", "met", "peer", "ratio", "spread / note"]
    out = []
    for r in rows:
        met = "-" if r.get("pass") is None else ("yes" if r["pass"] else "NO")
        peer = "-"
        ratio = "-"
        if r.get("peer") is not None:
            punit = "" if r["unit"] == "x" else r["unit"]
            peer = "%s: %s" % (r["peer_name"], fmt(r["peer"], punit))
            if r["unit"] != "x" and r["peer"]:
                ratio = "%.2fx" % (r["value"] / r["peer"])
        extra = "; ".join(x for x in (r.get("spread"), r.get("note")) if x)
        out.append([r["bench"], r["metric"], fmt(r["value"], r["unit"]),
                    r.get("goal") or "-", met, peer, ratio, extra])
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for o in out:
            print("| " + " | ".join(x.replace("|", "/") for x in o) + " |")
        return
    w = [max(len(h), *(len(o[i]) for o in out)) if out else len(h)
         for i, h in enumerate(head)]
    w[-1] = len(head[-1])
    line = "  ".join(h.ljust(w[i]) for i, h in enumerate(head))
    print(line)
    print("-" * len(line))
    for o in out:
        print("  ".join(x.ljust(w[i]) if i < len(o) - 1 else x for i, x in enumerate(o)))


if __name__ == "__main__":
    main()
