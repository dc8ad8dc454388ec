"""Samples, once a second, the CPU each process of the node used, grouped by command (Java,
Python and Traefik processes by their first arguments, so the operator, the demo app, the load
generator and the attack are told apart). One JSON line per second: {"t": ms, "cpu": {name: CPUs}}.

    python3 -m e2e.tenancy.node_cpu out.jsonl &    # stop it with kill
"""
import json
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def snapshot():
    """{pid: (group name, CPU ticks so far)} of every process readable in /proc."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            ticks = int(fields[11]) + int(fields[12])  # utime + stime
            with open("/proc/%s/cmdline" % pid) as f:
                args = f.read().split("\0")
            name = comm + ":" + " ".join(args[1:4])[-60:] if comm in ("java", "python3", "traefik") else comm
            out[pid] = (name, ticks)
        except (OSError, ValueError):  # the process ended between listdir and read
            pass
    return out


def main():
    before = snapshot()
    with open(sys.argv[1], "w") as out:
        while True:
            time.sleep(1)
            now = snapshot()
            used = {}
            for pid, (name, ticks) in now.items():
                if pid in before:
                    used[name] = used.get(name, 0) + (ticks - before[pid][1]) / HZ
            before = now
            top = sorted(((v, k) for k, v in used.items() if v > 0.05), reverse=True)[:12]
            out.write(json.dumps({"t": round(time.time() * 1000), "cpu": {k: round(v, 2) for v, k in top}}) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
