#!/usr/bin/env python3
"""diskfull.py: ttaid when the store runs out of room.

    diskfull.py --ttaid PATH --history PATH [--dir DIR] [--part map|disk|all]

Part "map" (always runs): ttaid with a capped map (--map-size 4 MiB) under a
small load of counters and torture workflows is filled with large starts
until the store refuses them. Checked:
  - the refused write answers 507 {"error": {"code": "storage_full"}} with a
    message naming the map size limit;
  - while full, the daemon answers reads: list, describe, history, queries,
    /healthz (200: a map limit does not latch the store), and
    `ttai-history verify` passes while it runs;
  - SIGTERM stops it cleanly (exit 0);
  - restarted with a larger map, every acknowledged start and signal is
    there, every workflow completes, and verify passes.

Part "disk" (needs root to mount a 8 MiB tmpfs; skipped with a message
otherwise): the data directory on a tmpfs that a filler file then fills.
Checked:
  - writes fail with 507 storage_full or 503 unavailable whose message
    says "no space left on device", never a crash;
  - the daemon stays up and keeps answering reads and queries; /healthz
    answers 503; the log says once, at error level, that the store refuses
    writes; verify passes on the live store;
  - once space is freed and the daemon restarted, every acknowledged write
    is there, the workflows complete, and verify passes.

Exit status 0 when everything held, 1 otherwise.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torture  # noqa: E402  (the daemon and HTTP helpers)
from torture import OK, api, request  # noqa: E402

torture.STRICT_5XX = False
PROBLEMS = []


def check(what, cond, detail=""):
    if cond:
        print(f"ok: {what}", flush=True)
    else:
        PROBLEMS.append(what)
        print(f"FAIL: {what} {detail}", file=sys.stderr, flush=True)


def verify(history, data, where):
    p = subprocess.run([history, "--data", data, "verify"], capture_output=True, text=True)
    check(f"ttai-history verify {where}", p.returncode == 0, (p.stdout + p.stderr)[-1500:])


def load(port, n_tortures=4):
    """A counter with signals and a few torture workflows (activities,
    retries, timers, continue-as-new) that keep the engine writing."""
    acked = []
    fate, status, _ = request(port, "POST", api("/workflows"),
                              {"type": "counter", "id": "c1", "input": {"every": 3}})
    check("start counter", fate == OK, status)
    for v in range(1, 8):
        fate, status, _ = request(port, "POST", api("/workflows/c1/signals/add"), {"input": v})
        if fate == OK:
            acked.append(v)
    for i in range(n_tortures):
        fate, status, _ = request(port, "POST", api("/workflows"), {
            "type": "torture", "id": f"t{i}",
            "input": {"steps": 4, "sleep_ms": 100, "fail_pct": 30, "can_every": 2}})
        check(f"start torture t{i}", fate == OK, status)
    return acked


def fill(port, prefix, payload_bytes, tries):
    """Starts hello workflows with large inputs until one is refused.
    Returns (ids acknowledged, (status, body) of the refusal or None)."""
    big = "x" * payload_bytes
    acked = []
    for i in range(tries):
        wid = f"{prefix}{i}"
        fate, status, doc = request(port, "POST", api("/workflows"),
                                    {"type": "hello", "id": wid, "input": big})
        if fate == OK:
            acked.append(wid)
        else:
            return acked, (status, doc)
    return acked, None


def error_of(doc):
    e = doc.get("error", {}) if isinstance(doc, dict) else {}
    return e.get("code"), e.get("message", "")


def reads_work(port, healthz_want):
    st = request(port, "GET", api("/workflows?page_size=100"))
    check("list answers while full", st[0] == OK, st[1])
    st = request(port, "GET", api("/workflows/c1"))
    check("describe answers while full", st[0] == OK, st[1])
    st = request(port, "GET", api("/workflows/c1/history"))
    check("history answers while full", st[0] == OK, st[1])
    st = request(port, "POST", api("/workflows/c1/queries/value"), {})
    check("query answers while full", st[0] == OK and isinstance(st[2].get("result"), int), st)
    st = request(port, "GET", "/healthz")
    check(f"healthz answers {healthz_want} while full", st[1] == healthz_want, st)


def recovered(port, history, data, starts, signals):
    present = {r["workflow_id"] for r in torture.list_runs(port)}
    missing = [w for w in starts if w not in present]
    check("every acknowledged start survived", not missing, missing[:5])
    recorded = []
    for r in torture.chains(port, "counter").get("c1", []):
        recorded += [e.get("payload") for e in torture.history(port, "c1", r["run_id"])
                     if e["type"] == "SignalReceived" and e.get("name") == "add"]
    check("every acknowledged signal survived, once", sorted(recorded) == sorted(signals),
          f"recorded {recorded}, acknowledged {signals}")
    fate, _, _ = request(port, "POST", api("/workflows/c1/signals/stop"), {})
    check("writes accepted again", fate == OK)
    deadline = time.time() + 120
    pending = [w for w in present]
    while pending and time.time() < deadline:
        w = pending[0]
        fate, status, doc = request(port, "GET", api(f"/workflows/{w}/result?wait=1&timeout_ms=5000"),
                                    timeout=30)
        if fate == OK and status == 200:
            check(f"{w} completed", doc.get("status") == "completed", doc)
            pending.pop(0)
    check("every workflow closed after recovery", not pending, pending[:5])
    verify(history, data, "after recovery")


def part_map(args, work):
    print("---- part map: a capped map", flush=True)
    data = os.path.join(work, "map-data")
    d = torture.Daemon(args.ttaid, data, os.path.join(work, "map-sink"),
                       os.path.join(work, "map.log"), ["--map-size", str(4 << 20)])
    d.start()
    signals = load(d.port)
    starts, refusal = fill(d.port, "big", 200_000, 200)
    check("the store filled up", refusal is not None and len(starts) > 0, f"{len(starts)} starts")
    if refusal is not None:
        status, doc = refusal
        code, msg = error_of(doc)
        check("a write past the limit answers 507 storage_full", status == 507 and
              code == "storage_full", refusal)
        check("the message names the map size limit", "map size limit" in msg, msg)
    fate, status, doc = request(d.port, "POST", api("/workflows/c1/signals/add"),
                                {"input": "y" * 500_000})
    check("a large signal is refused with 507", status == 507, (status, doc))
    reads_work(d.port, 200)
    verify(args.history, data, "while full (daemon running)")
    rc = d.stop()
    check("SIGTERM stops a full daemon cleanly", rc == 0, rc)
    d.extra = ["--map-size", str(64 << 20)]
    d.start()
    recovered(d.port, args.history, data, starts + ["c1"] + [f"t{i}" for i in range(4)],
              signals)
    check("SIGTERM after recovery", d.stop() == 0)


def part_disk(args, work):
    print("---- part disk: a full filesystem", flush=True)
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    if os.geteuid() != 0:
        print("SKIP: part disk needs root to mount a tmpfs", flush=True)
        return
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(f"SKIP: part disk: cannot mount a tmpfs: {p.stderr.strip()}", flush=True)
        return
    d = None
    try:
        data = os.path.join(mnt, "data")
        log = os.path.join(work, "disk.log")
        d = torture.Daemon(args.ttaid, data, os.path.join(work, "disk-sink"), log, [])
        d.start()
        signals = load(d.port)
        starts, _ = fill(d.port, "pre", 100_000, 5)
        # Fill the filesystem, leaving nothing for the store to grow into.
        filler = os.path.join(mnt, "filler")
        # Unbuffered: a buffered file would try the refused bytes again when
        # it is closed, and raise there.
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        more, refusal = fill(d.port, "big", 200_000, 100)
        starts += more
        check("writes fail on a full disk", refusal is not None, f"{len(more)} more starts")
        if refusal is not None:
            status, doc = refusal
            code, msg = error_of(doc)
            check("the refusal is 507 storage_full or 503 unavailable",
                  (status, code) in ((507, "storage_full"), (503, "unavailable")), refusal)
            check("the message says the device is full", "no space left on device" in msg, msg)
        check("the daemon is still up", d.proc.poll() is None)
        reads_work(d.port, 503)
        time.sleep(0.3)
        with open(log) as f:
            text = f.read()
        check("the log says the store refuses writes",
              "level=error event=store" in text and "no space left on device" in text)
        verify(args.history, data, "on the full disk (daemon running)")
        os.unlink(filler)
        rc = d.stop()
        check("SIGTERM stops it (exit 0 or 1)", rc in (0, 1), rc)
        d.start()
        recovered(d.port, args.history, data, starts + ["c1"] + [f"t{i}" for i in range(4)],
                  signals)
        check("SIGTERM after recovery", d.stop() == 0)
    finally:
        if d is not None and d.proc is not None:
            d.kill()
        subprocess.run(["umount", mnt], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ttaid", required=True)
    ap.add_argument("--history", required=True)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--part", default="all", choices=["map", "disk", "all"])
    args = ap.parse_args()
    work = args.dir or tempfile.mkdtemp(prefix="ttai-diskfull-")
    if args.dir:
        subprocess.run(["umount", os.path.join(work, "mnt")], capture_output=True)
        subprocess.run(["rm", "-rf", work])
    os.makedirs(work, exist_ok=True)
    if args.part in ("map", "all"):
        part_map(args, work)
    if args.part in ("disk", "all"):
        part_disk(args, work)
    if PROBLEMS:
        print(f"diskfull: FAILED: {len(PROBLEMS)} problems (work directory {work})",
              file=sys.stderr)
        return 1
    print("diskfull: everything held", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
