"""Reading what the e2e runs recorded: one home for the readers every analysis shares.

A run's raw files are written plain and committed gzip-compressed (`x.log` becomes `x.log.gz`), so
every reader here takes the plain name and reads whichever form is there, the plain one first.
Timestamps are RFC 3339 as Kubernetes, the container runtime, the operator and the demo app write
them; percentiles are nearest-rank, as the result tables state them.
"""
import gzip
import json
import math
import os
import re
from datetime import datetime, timezone
from fractions import Fraction


def recorded(path):
    """The file that holds path's record: path itself, else path + ".gz"; None when neither exists."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            return p
    return None


def exists(path):
    """Whether the run recorded path, plain or compressed."""
    return recorded(path) is not None


def open_text(path, errors=None):
    """Opens path's record for reading as text, plain or compressed. errors as for open() ("replace"
    for logs that may hold a cut multi-byte character). FileNotFoundError naming both forms when
    neither exists."""
    p = recorded(path)
    if p is None:
        raise FileNotFoundError("no record %s (nor %s.gz)" % (path, path))
    if p.endswith(".gz") and p != path:
        return gzip.open(p, "rt", errors=errors)
    return open(p, errors=errors)


def read_json(path, default=None, required=False):
    """The JSON document path records; default when the run did not record it (or, with required,
    FileNotFoundError). A document that is not JSON raises ValueError naming the file."""
    if not exists(path):
        if required:
            raise FileNotFoundError("no record %s (nor %s.gz)" % (path, path))
        return default
    with open_text(path) as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise ValueError("%s: not JSON: %s" % (path, e)) from None


def jsonl(path):
    """The records of a JSON-lines file, one a line, blank lines skipped; [] when the run did not
    record it. A line that is not JSON raises ValueError naming the file and line."""
    if not exists(path):
        return []
    out = []
    with open_text(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise ValueError("%s:%d: not JSON: %s" % (path, n, e)) from None
    return out


def json_stream(path):
    """JSON values written back to back (`kubectl get -w -o json`), in order; [] when not recorded.
    A stream cut mid-value (a watch restarted after an API server restart) goes on at the next line
    that starts a value."""
    text = ""
    if exists(path):
        with open_text(path) as f:
            text = f.read()
    decoder, i, out = json.JSONDecoder(), 0, []
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        try:
            obj, i = decoder.raw_decode(text, i)
            out.append(obj)
        except json.JSONDecodeError:
            nxt = text.find("\n{", i + 1)
            if nxt < 0:
                break
            i = nxt + 1
    return out


def watched_objects(path):
    """The objects of a recorded watch (json_stream), each as (event type, object): a watch event's
    type and object, or (None, value) for a value that is the object itself."""
    for ev in json_stream(path):
        if "object" in ev:
            yield ev.get("type"), ev["object"]
        else:
            yield None, ev


RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))?")


def epoch(text):
    """An RFC 3339 timestamp as epoch seconds (a float, as close to the stamp as a float gets; digits
    beyond nanoseconds are dropped). Any number of fraction digits; `Z`, `+HH:MM` or `+HHMM`; no
    offset means UTC. Anything else raises ValueError naming the text."""
    m = RFC3339.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise ValueError("not an RFC 3339 timestamp: %r" % (text,))
    y, mo, d, h, mi, s, frac, _, sign, oh, om = m.groups()
    try:
        whole = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone.utc)
    except ValueError as e:
        raise ValueError("not an RFC 3339 timestamp: %r (%s)" % (text, e)) from None
    seconds = int((whole - EPOCH).total_seconds())
    if sign:
        if int(oh) > 23 or int(om) > 59:
            raise ValueError("not an RFC 3339 timestamp: %r (offset out of range)" % (text,))
        seconds -= (1 if sign == "+" else -1) * (int(oh) * 3600 + int(om) * 60)
    ns = int((frac or "")[:9].ljust(9, "0"))
    # One exact division: the nearest float to the stamp, whatever its precision.
    return (seconds * 10**9 + ns) / 10**9


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def percentile(values, q):
    """The q-th percentile (0 < q <= 100) of values by nearest rank: the smallest value with at
    least q% of the values at or below it. None for no values."""
    if not 0 < q <= 100:
        raise ValueError("a percentile is over 0 and at most 100, got %r" % (q,))
    ordered = sorted(values)
    if not ordered:
        return None
    rank = math.ceil(Fraction(str(q)) * len(ordered) / 100)
    return ordered[max(0, rank - 1)]
