#!/usr/bin/env python3
"""make bench's report: medians (with min-max) of every measurement in
results.tsv (test, server, round, value, unit), the ratios against the
targets of issue 9, and one JSON line per (test, server) in results.jsonl.

usage: bench-report.py results.tsv results.jsonl CORES SECONDS BIG_MB
"""
import json
import statistics
import sys
import time

tsv, jsonl, cores, secs, big_mb = sys.argv[1:6]
runs = {}
units = {}
for line in open(tsv):
    f = line.rstrip("\n").split("\t")
    if len(f) != 5:
        continue
    test, server, _, value, unit = f
    try:
        v = float(value)
    except ValueError:
        continue  # a run that printed nothing (a tool failed): left out
    runs.setdefault((test, server), []).append(v)
    units[(test, server)] = unit


def med(test, server):
    v = runs.get((test, server))
    return statistics.median(v) if v else None


def cell(test, server):
    v = runs.get((test, server))
    if not v:
        return "-"
    m = statistics.median(v)
    if len(v) == 1:
        return f"{m:,.1f}"
    return f"{m:,.1f} ({min(v):,.0f}-{max(v):,.0f})"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, suffix="x"):
    return "-" if x is None else f"{x:.2f}{suffix}"


with open(jsonl, "w") as out:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for (test, server), v in sorted(runs.items()):
        out.write(json.dumps({
            "time": stamp, "test": test, "server": server,
            "unit": units[(test, server)], "runs": v,
            "median": statistics.median(v), "min": min(v), "max": max(v),
        }) + "\n")

print()
print(f"make bench: {cores} cores, 16 connections for {secs}s per run (ab for HEAD, wrk otherwise), {big_mb} MiB for pull/push, "
      "TLS everywhere, auth off unless a row says so; median (min-max) of the runs")
hdr = f"{'workload':<34} {'unit':<6} {'ceiling':>24} {'registry:2':>24} {'berth':>24}  {'berth/r2':>8} {'berth/ceil':>10}  target"
print(hdr)
print("-" * len(hdr))


def row(name, test, ceil_val, ceil_txt, target, check):
    b, r = med(test, "berth"), med(test, "r2")
    rr, rc = ratio(b, r), ratio(b, ceil_val)
    if units.get((test, "berth")) == "ms":
        rr = ratio(r, b)  # latencies: how many times faster Berth answers
    ok = check(b, r, ceil_val)
    mark = "" if ok is None else ("  met" if ok else "  NOT met")
    print(f"{name:<34} {units.get((test, 'berth'), ''):<6} {ceil_txt:>24} {cell(test, 'r2'):>24} "
          f"{cell(test, 'berth'):>24}  {fmt(rr):>8} {fmt(rc):>10}  {target}{mark}")


def both(b, r, c):
    if b is None or r is None or c is None:
        return None
    return b >= 15 * r and b >= 0.5 * c


sha = med("sha256", "openssl")
# The disk: the faster of its two ways in (through the page cache, or
# O_DIRECT as Berth writes bodies), each followed by fdatasync.
disks = [x for x in (med("disk", "dd"), med("disk", "dd-direct")) if x is not None]
disk = max(disks) if disks else None
for t, name in (("head", "HEAD blob, 16 connections"), ("manifest", "GET manifest, 16 connections")):
    row(name, t, med(t, "nginx"), cell(t, "nginx"), ">= 15x r2, >= 50% ceiling", both)
for t, name in (("pull", f"pull {big_mb} MiB, in page cache"), ("pull-cold", f"pull {big_mb} MiB, from disk")):
    row(name, t, med(t, "nginx"), cell(t, "nginx"), ">= 95% ceiling",
        lambda b, r, c: None if b is None or c is None else b >= 0.95 * c)
for t, name in (("push-mono", "push, monolithic PUT"), ("push-chunked", "push, one chunked PATCH")):
    parts = [x for x in (med(t, "nginx"), sha, disk) if x is not None]
    c = min(parts) if parts else None
    row(name, t, c, "-" if c is None else f"{c:,.1f} (min of 3)", ">= 90% ceiling, fsynced",
        lambda b, r, c: None if b is None or c is None else b >= 0.9 * c)
row("32 parallel 4 MiB pushes", "par32", med("par32", "nginx"), cell("par32", "nginx"), ">= 2x r2",
    lambda b, r, c: None if b is None or r is None else b >= 2 * r)
row("sequential manifest PUTs", "mput", None, "-", ">= 3x r2, durable",
    lambda b, r, c: None if b is None or r is None else b >= 3 * r)
row("catalog page n=100, 100k repos", "catalog", None, "-", "<= 1 ms",
    lambda b, r, c: None if b is None else b <= 1.0)
row("tags page n=100, 10k tags", "tags", None, "-", "<= 1 ms",
    lambda b, r, c: None if b is None else b <= 1.0)

for t, name in (("head", "HEAD blob"), ("manifest", "GET manifest")):
    fn = med(t, "fcgi-null")
    if fn:
        print(f"FastCGI ceiling, {name}: a do-nothing libfcgi app in Berth's pool behind the same nginx "
              f"{cell(t, 'fcgi-null')} req/s = {fmt(ratio(fn, med(t, 'nginx')), '')} of nginx's static rate, "
              f"{fmt(ratio(fn, med(t, 'r2')))} r2; Berth = {fmt(ratio(med(t, 'berth'), fn), '')} of it")
fn, fh, r2p = med("par32", "fcgi-null"), med("par32", "fcgi-hash"), med("par32", "r2")
fs = med("par32", "fcgi-sink")
if fs:
    # Registry:2 does not fsync; Berth must. The app that hashes and
    # writes each body durably, with Berth's own writer and nothing else,
    # is the least a durable registry does.
    verdict = ""
    if r2p:
        verdict = ("; 2x r2 lies above it: out of reach for a durable registry in this run"
                   if 2 * r2p > fs else "; 2x r2 lies below it")
    print(f"durable floor, 32 parallel pushes: the same app hashing each body and writing it with Berth's "
          f"writer (O_DIRECT, one fdatasync, one directory fsync) {cell('par32', 'fcgi-sink')} MB/s = "
          f"{fmt(ratio(fs, r2p))} r2; Berth = {fmt(ratio(med('par32', 'berth'), fs), '')} of it{verdict}")
if fn:
    # A registry must hash what it takes in: the app that hashes is the
    # one the target is held against, when it was measured.
    floor = fh or fn
    verdict = ""
    if r2p:
        verdict = ("; 2x r2 lies above what " + ("hashing" if fh else "that") +
                   " reaches: out of reach for any FastCGI registry in this run"
                   if 2 * r2p > floor else "; 2x r2 lies below it")
    print(f"FastCGI ceiling, 32 parallel pushes: a libfcgi app that reads the bodies and throws them away "
          f"{cell('par32', 'fcgi-null')} MB/s = {fmt(ratio(fn, r2p))} r2, {fmt(ratio(fn, med('par32', 'nginx')), '')} "
          f"of nginx's intake; hashing them {cell('par32', 'fcgi-hash')} MB/s = {fmt(ratio(fh, r2p))} r2; "
          f"Berth = {fmt(ratio(med('par32', 'berth'), floor), '')} of that{verdict}")
for t, name in (("push-mono", "monolithic push"), ("push-chunked", "chunked push")):
    fn, fh = med(t, "fcgi-null"), med(t, "fcgi-hash")
    parts = [x for x in (med(t, "nginx"), sha, disk) if x is not None]
    c = min(parts) if parts else None
    if fn:
        line = (f"FastCGI ceiling, {name}: the same app {cell(t, 'fcgi-null')} MB/s; "
                f"Berth (hashing, durable) = {fmt(ratio(med(t, 'berth'), fn), '')} of it")
        if fh:
            line += (f"; hashing the body (SHA-256, no disk) {cell(t, 'fcgi-hash')} MB/s, "
                     f"Berth = {fmt(ratio(med(t, 'berth'), fh), '')} of it")
            if c:
                line += ("; 90% of the ceiling lies above it: out of reach for any FastCGI registry "
                         "in this run" if fh < 0.9 * c else "; 90% of the ceiling lies below it")
        print(line)
ns, fl = med("mput", "berth-nosync"), med("fsync-floor", "disk")
if ns and fl:
    own = 1000.0 / ns
    bound = 1000.0 / (own + 4 * fl)
    r2 = med("mput", "r2")
    print(f"manifest PUT bound: Berth without fsync {cell('mput', 'berth-nosync')} req/s = {own:.2f} ms of its own; "
          f"one ordered durable step on this disk (rename + directory fsync) {cell('fsync-floor', 'disk')} ms; "
          f"four steps: <= {bound:,.0f} req/s = {fmt(ratio(bound, r2))} r2")
    print(f"  the file operations of one PUT (tests/bench-fsync): no fsync {cell('fsync-none', 'disk')} ms, "
          f"one by one {cell('fsync-serial', 'disk')} ms, four steps {cell('fsync-steps', 'disk')} ms; "
          f"cache flush {cell('fsync-flush', 'disk')} ms")
print()
print("ceilings: " + ", ".join(
    f"{n} {cell(t, s)} {units.get((t, s), '')}" for n, t, s in (
        ("sha256", "sha256", "openssl"), ("disk write+fdatasync", "disk", "dd"), ("disk O_DIRECT write+fdatasync", "disk", "dd-direct"),
        ("nginx body intake (monolithic)", "push-mono", "nginx"),
        ("nginx body intake (chunked)", "push-chunked", "nginx"))))
print()
print("with auth (htpasswd, bcrypt), req/s:")
for t, name in (("head", "HEAD blob"), ("manifest", "GET manifest")):
    print(f"  nginx {name:<14} berth {cell(t, 'berth-auth')} vs no auth {cell(t, 'berth')} "
          f"= {fmt(ratio(med(t, 'berth-auth'), med(t, 'berth')), '')}; "
          f"registry:2 {cell(t, 'r2-auth')}; nginx auth_basic on a static file {cell(t, 'nginx-auth')}")
for t, name in (("apache-head", "HEAD blob"), ("apache-manifest", "GET manifest")):
    print(f"  Apache {name:<13} berth {cell(t, 'berth-auth')} vs no auth {cell(t, 'berth')} "
          f"= {fmt(ratio(med(t, 'berth-auth'), med(t, 'berth')), '')}")
p, pa = med("pss", "berth"), med("pss", "berth-auth")
if p is not None:
    print(f"largest PSS of a Berth pool (supervisor + workers) during the run: {p:.1f} MiB "
          f"(the pool the workloads ran on; the auth pool: {pa or 0:.1f} MiB; target < 16 MiB)")
i = med("index-build", "berth")
if i is not None:
    print(f"Berth built its catalog index of the 100k-repository store in {i:.0f} ms (once)")
print("(berth/r2 for ms rows is registry:2's latency over Berth's: how many times faster Berth answers)")
print(f"JSON lines: {jsonl}")
