"""Where an operator replica spent its CPU during a window: JFR execution samples counted by
thread group and by the operator's own top frames.

    jfr print --json --events jdk.ExecutionSample rec.jfr > rec.json
    python3 -m e2e.tenancy.jfr_threads rec.json --from 13:38:40 --to 13:39:30 > summary.json

Thread names lose their trailing numbers (vert.x-eventloop-thread-1 -> vert.x-eventloop-thread).
"""
import argparse
import collections
import json
import sys


def summarize(events, start, end):
    """Pure (tested): events are JFR ExecutionSample records; start/end 'HH:MM:SS' in UTC."""
    threads, frames = collections.Counter(), collections.Counter()
    n = 0
    for e in events:
        v = e["values"]
        t = v["startTime"][11:19]
        if not start <= t <= end:
            continue
        n += 1
        name = ((v.get("sampledThread") or {}).get("javaName") or "?").rstrip("0123456789-")
        threads[name] += 1
        for f in (v.get("stackTrace") or {}).get("frames") or []:
            m = f["method"]
            if m["type"]["name"].startswith("dev/zdt/"):
                frames[m["type"]["name"].split("/")[-1].split("$$")[0] + "." + m["name"]] += 1
                break
    return {"window": [start, end], "samples": n,
            "byThread": {k: {"samples": c, "share": round(c / n, 3)} for k, c in threads.most_common()},
            "topOperatorFrames": dict(frames.most_common(10))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--from", dest="start", required=True)
    ap.add_argument("--to", dest="end", required=True)
    a = ap.parse_args()
    with open(a.json) as f:
        events = json.load(f)["recording"]["events"]
    json.dump(summarize(events, a.start, a.end), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
