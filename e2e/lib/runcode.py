"""Which code a recorded run measured (the runs' code.json, written by e2e/rollout/lib.sh's
record_code), as one sentence for the result tables."""
import json
import os


def sentence(runs):
    """' Measured <date> on the code of commit <c> (operator image <i>).' or '' without a record."""
    path = os.path.join(runs, "code.json")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        c = json.load(f)
    return " Measured %s on the code of commit %s%s (operator image `%s`)." % (
        c.get("measuredAt", "?")[:10], c.get("commit", "?"),
        " with uncommitted operator changes" if c.get("operatorSourcesDiffer") else "", c.get("operatorImage") or "?")
