#!/usr/bin/env python3
"""shards_check.py - reads what dgw-shards wrote and checks one property.

  pacing LOG WINDOW_MS MC N   every IDENTIFY of LOG ("shard S: IDENTIFY at T ms
                              (bucket B, ...") is in bucket S % MC, N in all,
                              and two of one bucket are >= WINDOW_MS apart
  totals LOG KEY=VALUE...     the last totals line of LOG has these values
  shard-lines LOG N KEY=VALUE...  the last N per-shard stats lines are for
                              N distinct shards and each has these values
  state FILE COUNT N          FILE is a state file of COUNT shards with N
                              sessions, each with a session_id and resume_url
  events OUT TOKEN MIN_OP0    every stdout line is JSON tagged with a shard,
                              at least MIN_OP0 dispatches, TOKEN nowhere
Exit status 0 when the property holds; else 1 with the reason on stdout.
"""
import json
import re
import sys


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


def stat_lines(path, kind):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith('{"stats":"%s"' % kind):
                out.append(json.loads(line))
    return out


def want(obj, pairs, what):
    for pair in pairs:
        key, value = pair.split("=", 1)
        got = obj.get(key)
        if str(got) != value:
            fail("%s: %s is %r, expected %s" % (what, key, got, value))


def pacing(log, window, mc, n):
    window, mc, n = int(window), int(mc), int(n)
    pat = re.compile(r"shard (\d+): IDENTIFY at (\d+) ms \(bucket (\d+),")
    times = {}
    count = 0
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if not m:
                continue
            shard, t, bucket = (int(x) for x in m.groups())
            if bucket != shard % mc:
                fail("shard %d IDENTIFYed in bucket %d, not %d" % (shard, bucket, shard % mc))
            times.setdefault(bucket, []).append((t, shard))
            count += 1
    if count != n:
        fail("%d IDENTIFYs logged, expected %d" % (count, n))
    for bucket, ts in sorted(times.items()):
        ts.sort()
        for (t0, s0), (t1, s1) in zip(ts, ts[1:]):
            if t1 - t0 < window:
                fail("bucket %d: shard %d at %d ms and shard %d at %d ms: %d ms apart, "
                     "window %d" % (bucket, s0, t0, s1, t1, t1 - t0, window))
        print("bucket %d: IDENTIFY at %s ms" % (bucket, ", ".join(str(t) for t, _ in ts)))


def totals(log, *pairs):
    lines = stat_lines(log, "totals")
    if not lines:
        fail("no totals line in " + log)
    want(lines[-1], pairs, "totals")
    print("totals: " + ", ".join(pairs))


def shard_lines(log, n, *pairs):
    n = int(n)
    lines = stat_lines(log, "shard")[-n:]
    if len(lines) != n or len({l["shard"] for l in lines}) != n:
        fail("expected %d per-shard lines for distinct shards, got %d" % (n, len(lines)))
    for l in lines:
        want(l, pairs, "shard %d" % l["shard"])
        if set(l["ended_by"]) != {"server_close", "reconnect", "invalid_session", "zombie",
                                  "timeout", "eof", "rejected", "error", "caller"}:
            fail("shard %d: ended_by has %s" % (l["shard"], sorted(l["ended_by"])))
    print("%d shard lines: %s" % (n, ", ".join(pairs)))


def state(path, count, n):
    count, n = int(count), int(n)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("version") != 1 or doc.get("shard_count") != count:
        fail("state file header: %r" % {k: v for k, v in doc.items() if k != "shards"})
    entries = doc.get("shards", [])
    if len(entries) != n or len({e["shard"] for e in entries}) != n:
        fail("state file has %d sessions, expected %d distinct" % (len(entries), n))
    for e in entries:
        if e.get("shard_count") != count or not e.get("session_id") or \
                not str(e.get("resume_url", "")).startswith("ws") or \
                not isinstance(e.get("seq"), int):
            fail("state entry not usable: %r" % e)
    print("state file: %d sessions of %d shards" % (n, count))


def events(path, token, min_dispatches):
    dispatches = 0
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if token in text:
        fail("the token appears on stdout")
    for line in text.splitlines():
        ev = json.loads(line)
        if not isinstance(ev.get("shard"), int) or "op" not in ev or "d" not in ev:
            fail("not an event line: " + line[:200])
        dispatches += ev["op"] == 0
    if dispatches < int(min_dispatches):
        fail("%d dispatches on stdout, expected at least %s" % (dispatches, min_dispatches))
    print("stdout: %d event lines, %d dispatches" % (len(text.splitlines()), dispatches))


if __name__ == "__main__":
    cmds = {"pacing": pacing, "totals": totals, "shard-lines": shard_lines,
            "state": state, "events": events}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](*sys.argv[2:])
