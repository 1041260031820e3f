#!/usr/bin/env python3
"""torture.py: ttaid under a mixed load, killed with SIGKILL again and again.

    torture.py --ttaid PATH --history PATH [--kills N] [--seed S] [--dir DIR]
               [--clients C] [--cycle-min S] [--cycle-max S] [--report FILE]

Each cycle drives ttaid with C client threads (starts, signals,
signal-with-start, queries, stops of `counter` workflows; starts of
`torture` workflows, whose `sink_effect` activities fail at random, retry,
sleep on durable timers and continue as new; a schedule firing every two
seconds), kills the daemon with SIGKILL at a random moment, checks the store
offline (`ttai-history verify`), restarts the daemon and checks the
invariants below over the API. After the last kill the load stops, every
counter is stopped, every workflow is waited for, and everything is checked
once more (plus `ttai-history replay --all`).

Every request's fate is recorded. An answer with the success status is
*acknowledged*. A request whose answer was lost (the connection broke, it
timed out) is *in doubt*: it may or may not have been made durable. A
request refused with an error status, or one whose connection was refused
(it never reached the daemon), is *refused*: it must have recorded nothing.

Invariants:
  I1 every acknowledged start is in the store (its workflow exists);
  I2 every acknowledged `add` signal is in exactly one SignalReceived event
     of its workflow's runs; no signal is recorded twice; a refused signal
     is not recorded; every recorded signal was acknowledged or in doubt
     (signal values are unique, which makes this exact);
  I3 each workflow completes exactly once: at the end exactly one run of
     every workflow id is completed, every other run of the id continued as
     new, and the chain of runs is linear;
  I4 a counter's result equals the sum of the `add` signals its runs
     received, which contain every acknowledged one;
  I5 `ttai-history verify` passes after every kill and at the end, and
     `ttai-history replay --all` passes at the end;
  I6 activity side effects are at-least-once and the idempotency key
     de-duplicates them: the sink holds the key of every completed
     activity, and the distinct keys of a torture workflow are exactly its
     completed activities (`steps` of them);
  I7 within one daemon lifetime, a query started after another one on the
     same counter ended never answers a smaller total;
  I8 every workflow a schedule started completes exactly once.

Exit status 0 when every invariant held, 1 otherwise; the figures are
printed at the end (and written as JSON to --report).
"""
import argparse
import collections
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

NS = "default"
SCHEDULE_ID = "tick"
HTTP_TIMEOUT_S = 10
STRICT_5XX = True          # a 5xx breaks I0 (diskfull.py expects them)


class Failures:
    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def add(self, inv, msg):
        with self.lock:
            self.items.append((inv, msg))
            if len(self.items) <= 60:
                print(f"INVARIANT {inv} BROKEN: {msg}", file=sys.stderr, flush=True)


FAIL = Failures()


# ---- The daemon -------------------------------------------------------------------------

class Daemon:
    def __init__(self, ttaid, data, sink, log, extra):
        self.ttaid, self.data, self.sink, self.log_path = ttaid, data, sink, log
        self.extra = extra
        self.proc = None
        self.port = None
        self.starts = 0

    def start(self):
        env = dict(os.environ, TTAI_SAMPLE_SINK=self.sink)
        # A daemon killed with SIGKILL leaves no LeakSanitizer report.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1")
        log = open(self.log_path, "a")
        log.write(f"---- start {self.starts}\n")
        log.flush()
        begin = os.path.getsize(self.log_path)
        self.proc = subprocess.Popen(
            [self.ttaid, "--data", self.data, "--listen", "127.0.0.1:0",
             "--activity-threads", "4"] + self.extra,
            stdout=subprocess.DEVNULL, stderr=log, env=env)
        log.close()
        self.starts += 1
        deadline = time.time() + 60
        while time.time() < deadline:
            with open(self.log_path) as f:
                f.seek(begin)
                for line in f:
                    i = line.find("listening on 127.0.0.1:")
                    if i >= 0:
                        self.port = int(line[i + len("listening on 127.0.0.1:"):].split()[0]
                                        .strip('"'))
                        return
            if self.proc.poll() is not None:
                raise RuntimeError(f"ttaid exited with {self.proc.returncode} at start "
                                   f"(log: {self.log_path})")
            time.sleep(0.05)
        raise RuntimeError("ttaid did not start within 60 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self):
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc


# ---- HTTP ----------------------------------------------------------------------------------

OK, DOUBT, REFUSED = "ok", "doubt", "refused"


def request(port, method, path, body=None, timeout=HTTP_TIMEOUT_S):
    """(fate, status, json): fate is OK for a 2xx, REFUSED for an error
    status or a refused connection, DOUBT when the answer was lost."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        try:
            conn.request(method, path, body=data, headers=headers)
        except ConnectionRefusedError:
            return REFUSED, 0, None
        resp = conn.getresponse()
        raw = resp.read()
        status = resp.status
    except (OSError, http.client.HTTPException):
        return DOUBT, 0, None
    finally:
        conn.close()
    try:
        doc = json.loads(raw) if raw else None
    except ValueError:
        doc = None
    if status >= 500 and STRICT_5XX:
        # The store never refuses work here (no disk limit): a 5xx is a bug.
        FAIL.add("I0", f"{method} {path} answered {status}: {doc}")
    return (OK if 200 <= status < 300 else REFUSED), status, doc


def api(path):
    return f"/api/v1/namespaces/{NS}{path}"


# ---- The model: what the clients were told --------------------------------------------------

class Counter:
    def __init__(self, wid):
        self.wid = wid
        self.start = None              # fate of its start (or signal-with-start)
        self.acked, self.doubt, self.refused = set(), set(), set()
        self.stop = None               # fate of its stop signal
        self.inflight = 0
        self.cycle = -1                # daemon lifetime of its last signal


class Model:
    def __init__(self, seed):
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.counters = {}             # wid -> Counter
        self.tortures = {}             # wid -> (fate, input)
        self.value = 0                 # last signal value handed out
        self.next_id = 0
        self.epoch = 0                 # daemon lifetime
        self.queries = collections.defaultdict(list)  # (epoch, wid) -> [(t0, t1, value)]
        self.ops = collections.Counter()

    def tally(self, op, fate, status):
        with self.lock:
            self.ops[f"{op}:{fate}" + (f":{status}" if fate == REFUSED else "")] += 1

    def new_id(self, prefix):
        with self.lock:
            self.next_id += 1
            return f"{prefix}{self.next_id}"

    def new_value(self):
        with self.lock:
            self.value += 1
            return self.value

    def live_counter(self, rng, prefix=None):
        """A counter not being stopped; prefix "w" picks one that do_stop
        never stops (signal-with-start on a closed workflow would start a
        second execution, which is right, but not what I3 counts)."""
        with self.lock:
            live = [c for c in self.counters.values()
                    if c.stop is None and c.start in (OK, DOUBT) and
                    (prefix is None or c.wid.startswith(prefix))]
            return rng.choice(live) if live else None


def do_start_counter(port, m, rng):
    wid = m.new_id("c")
    c = Counter(wid)
    with m.lock:
        m.counters[wid] = c
    body = {"type": "counter", "id": wid, "input": {"every": rng.randint(2, 6)}}
    c.start, status, _ = request(port, "POST", api("/workflows"), body)
    m.tally("start", c.start, status)


def do_sws(port, m, rng):
    existing = m.live_counter(rng, "w") if rng.random() < 0.5 else None
    c = existing
    if c is None:
        c = Counter(m.new_id("w"))
        with m.lock:
            m.counters[c.wid] = c
    value = m.new_value()
    body = {"type": "counter", "input": {"every": rng.randint(2, 6)}, "signal_input": value}
    with m.lock:
        c.inflight += 1
    fate, status, _ = request(port, "POST", api(f"/workflows/{c.wid}/signal-with-start/add"), body)
    with m.lock:
        c.inflight -= 1
        c.cycle = m.epoch
        {OK: c.acked, DOUBT: c.doubt, REFUSED: c.refused}[fate].add(value)
        if fate == OK:
            c.start = OK
        elif c.start in (None, REFUSED):
            c.start = fate
    m.tally("signal_with_start", fate, status)


def do_signal(port, m, rng):
    c = m.live_counter(rng)
    if c is None:
        return
    value = m.new_value()
    with m.lock:
        c.inflight += 1
    fate, status, _ = request(port, "POST", api(f"/workflows/{c.wid}/signals/add"),
                              {"input": value})
    with m.lock:
        c.inflight -= 1
        c.cycle = m.epoch
        {OK: c.acked, DOUBT: c.doubt, REFUSED: c.refused}[fate].add(value)
    if fate == REFUSED and status not in (0, 404, 409):
        FAIL.add("I2", f"signal to {c.wid} answered {status}")
    m.tally("signal", fate, status)


def do_query(port, m, rng):
    c = m.live_counter(rng)
    if c is None:
        return
    epoch = m.epoch
    t0 = time.monotonic()
    fate, status, doc = request(port, "POST", api(f"/workflows/{c.wid}/queries/value"), {})
    t1 = time.monotonic()
    m.tally("query", fate, status)
    if fate == OK:
        value = doc.get("result") if isinstance(doc, dict) else None
        if not isinstance(value, int):
            FAIL.add("I7", f"query of {c.wid} answered {doc!r}")
            return
        with m.lock:
            m.queries[(epoch, c.wid)].append((t0, t1, value))


def do_stop(port, m, rng):
    c = m.live_counter(rng, "c")
    if c is None:
        return
    with m.lock:
        c.stop = "sending"
    fate, status, _ = request(port, "POST", api(f"/workflows/{c.wid}/signals/stop"), {})
    with m.lock:
        c.stop = fate
    m.tally("stop", fate, status)


def do_start_torture(port, m, rng):
    wid = m.new_id("t")
    inp = {"steps": rng.randint(1, 6), "sleep_ms": rng.choice([0, 20, 100, 300]),
           "fail_pct": rng.choice([0, 20, 50, 70]), "can_every": rng.randint(0, 3)}
    with m.lock:
        m.tortures[wid] = (None, inp)
    fate, status, _ = request(port, "POST", api("/workflows"),
                              {"type": "torture", "id": wid, "input": inp})
    with m.lock:
        m.tortures[wid] = (fate, inp)
    m.tally("torture", fate, status)


OPS = [(do_signal, 40), (do_query, 15), (do_sws, 12), (do_start_counter, 8),
       (do_start_torture, 8), (do_stop, 3)]


def client(port, m, seed, stop_event):
    rng = random.Random(seed)
    funcs = [f for f, w in OPS for _ in range(w)]
    while not stop_event.is_set():
        rng.choice(funcs)(port, m, rng)


# ---- Reading the store through the API ------------------------------------------------------

def get(port, path, timeout=60):
    for _ in range(100):
        fate, status, doc = request(port, "GET", path, timeout=timeout)
        if fate == OK:
            return doc
        if fate == REFUSED and status != 0:
            raise RuntimeError(f"GET {path}: {status} {doc}")
        time.sleep(0.1)
    raise RuntimeError(f"GET {path}: no answer")


def list_runs(port, wtype=None):
    runs, token = [], None
    while True:
        q = "page_size=1000" + (f"&type={wtype}" if wtype else "")
        if token:
            q += f"&page_token={token}"
        doc = get(port, api(f"/workflows?{q}"))
        runs += doc["workflows"]
        token = doc.get("next_page_token")
        if not token:
            return runs


def history(port, wid, run_id):
    events, frm = [], 1
    while True:
        doc = get(port, api(f"/workflows/{wid}/history?run_id={run_id}&from_event={frm}"
                            "&page_size=10000"))
        events += doc["events"]
        if doc.get("next_event_id") is None:
            return events
        frm = doc["next_event_id"]


def chains(port, wtype):
    """workflow id -> its runs, oldest first."""
    by_id = collections.defaultdict(list)
    for r in list_runs(port, wtype):
        by_id[r["workflow_id"]].append(r)
    for runs in by_id.values():
        runs.sort(key=lambda r: (r["start_time"] or "", r["status"] != "continued_as_new"))
    return by_id


# ---- Checks ---------------------------------------------------------------------------------

def check_verify(history_tool, data, where):
    p = subprocess.run([history_tool, "--data", data, "verify"], capture_output=True, text=True)
    if p.returncode != 0:
        FAIL.add("I5", f"ttai-history verify {where}: exit {p.returncode}: "
                       f"{(p.stdout + p.stderr)[-2000:]}")


def check_starts(port, m, where):
    present = {r["workflow_id"] for r in list_runs(port)}
    with m.lock:
        acked = [c.wid for c in m.counters.values() if c.start == OK]
        acked += [w for w, (fate, _) in m.tortures.items() if fate == OK]
    missing = [w for w in acked if w not in present]
    if missing:
        FAIL.add("I1", f"{where}: acknowledged starts missing: {missing[:10]}")
    return len(acked)


def counter_signals(port, c, runs):
    """The add values recorded across the runs of a counter, in order."""
    values = []
    for r in runs:
        for ev in history(port, c.wid, r["run_id"]):
            if ev["type"] == "SignalReceived" and ev.get("name") == "add":
                values.append(ev.get("payload"))
    return values


def check_counter(port, c, runs, final):
    recorded = counter_signals(port, c, runs)
    seen = collections.Counter(recorded)
    dups = [v for v, n in seen.items() if n > 1]
    if dups:
        FAIL.add("I2", f"{c.wid}: signals recorded twice: {dups[:10]}")
    rec = set(recorded)
    lost = c.acked - rec
    if lost:
        FAIL.add("I2", f"{c.wid}: acknowledged signals not in history: {sorted(lost)[:10]}")
    extra = rec - c.acked - c.doubt
    if extra:
        FAIL.add("I2", f"{c.wid}: recorded signals never acknowledged nor in doubt "
                       f"(refused: {sorted(extra & c.refused)[:10]}): {sorted(extra)[:10]}")
    if not final:
        return len(rec & c.doubt)
    completed = [r for r in runs if r["status"] == "completed"]
    if len(completed) != 1:
        FAIL.add("I3", f"{c.wid}: {len(completed)} completed runs "
                       f"({[r['status'] for r in runs]})")
        return len(rec & c.doubt)
    res = get(port, api(f"/workflows/{c.wid}/result"))
    total = sum(v for v in recorded if isinstance(v, int))
    if res.get("result") != total:
        FAIL.add("I4", f"{c.wid}: result {res.get('result')}, recorded signals sum to {total}")
    return len(rec & c.doubt)


def check_chain(port, wid, runs, kind):
    statuses = [r["status"] for r in runs]
    if statuses.count("completed") != 1 or \
            any(s not in ("completed", "continued_as_new") for s in statuses):
        FAIL.add("I3" if kind != "schedule" else "I8", f"{wid}: run statuses {statuses}")
        return None
    completes = 0
    events_by_run = []
    for r in runs:
        evs = history(port, wid, r["run_id"])
        events_by_run.append(evs)
        completes += sum(1 for e in evs if e["type"] == "WorkflowCompleted")
    if completes != 1:
        FAIL.add("I3", f"{wid}: {completes} WorkflowCompleted events")
    return events_by_run


def check_queries(m):
    bad = 0
    with m.lock:
        items = list(m.queries.items())
    for (epoch, wid), obs in items:
        obs.sort()
        # For each answer, the largest answer of a query that ended before it began.
        ended = sorted(obs, key=lambda o: o[1])
        j, high = 0, None
        for t0, t1, v in obs:
            while j < len(ended) and ended[j][1] < t0:
                high = ended[j][2] if high is None else max(high, ended[j][2])
                j += 1
            if high is not None and v < high:
                bad += 1
                if bad <= 5:
                    FAIL.add("I7", f"{wid} (daemon lifetime {epoch}): query answered {v} after "
                                   f"an earlier query answered {high}")
    return bad


def read_sink(path):
    keys = collections.Counter()
    lines = 0
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 2:
                    FAIL.add("I6", f"sink line {line!r} is malformed")
                    continue
                keys[parts[0]] += 1
                lines += 1
    return keys, lines


def check_tortures(port, m, sink, figures):
    keys, lines = read_sink(sink)
    by_wf = collections.defaultdict(set)
    for k in keys:
        by_wf[k.split("/")[0]].add(k)
    ch = chains(port, "torture")
    completed_acts = 0
    for wid, runs in ch.items():
        evs = check_chain(port, wid, runs, "torture")
        if evs is None:
            continue
        done = [e for run in evs for e in run if e["type"] == "ActivityCompleted"]
        completed_acts += len(done)
        done_keys = {e.get("payload") for e in done}
        steps = (m.tortures.get(wid, (None, {}))[1] or {}).get("steps")
        first = evs[0][0] if evs and evs[0] else {}
        steps = first.get("payload", {}).get("steps", steps)
        if len(done) != steps or len(done_keys) != steps:
            FAIL.add("I6", f"{wid}: {len(done)} activities completed "
                           f"({len(done_keys)} keys), want {steps}")
        if done_keys - by_wf[wid]:
            FAIL.add("I6", f"{wid}: completed activities without a side effect: "
                           f"{sorted(done_keys - by_wf[wid])[:5]}")
        if by_wf[wid] - done_keys:
            FAIL.add("I6", f"{wid}: side effects of activities that never completed: "
                           f"{sorted(by_wf[wid] - done_keys)[:5]}")
    with m.lock:
        acked = [w for w, (fate, _) in m.tortures.items() if fate == OK]
    for w in acked:
        if w not in ch:
            FAIL.add("I1", f"acknowledged torture start {w} missing")
    figures["torture_workflows"] = len(ch)
    figures["activities_completed"] = completed_acts
    figures["sink_lines"] = lines
    figures["sink_keys"] = len(keys)
    figures["duplicate_effects"] = lines - len(keys)


def check_after_restart(port, m, history_tool, data, where):
    """I1 over every start so far; I2 over the counters the last cycle
    signalled (the final check covers them all)."""
    check_starts(port, m, where)
    ch = chains(port, "counter")
    with m.lock:
        touched = [c for c in m.counters.values() if c.cycle == m.epoch - 1]
    for c in touched:
        check_counter(port, c, ch.get(c.wid, []), final=False)


# ---- The run --------------------------------------------------------------------------------

def drive(daemon, m, args, rng):
    stop_event = threading.Event()
    threads = [threading.Thread(target=client, args=(daemon.port, m, rng.random(), stop_event))
               for _ in range(args.clients)]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(args.cycle_min, args.cycle_max))
    return stop_event, threads


def finish(daemon, m):
    """Stops every counter (the ones the model knows and any in-doubt one
    that exists) and waits for every workflow to close."""
    port = daemon.port
    # No new fires: the last ones are waited for below.
    request(port, "POST", api(f"/schedules/{SCHEDULE_ID}/pause"), {"note": "torture end"})
    for r in list_runs(port, "counter"):
        if r["status"] == "running":
            for _ in range(50):
                fate, status, _ = request(port, "POST",
                                          api(f"/workflows/{r['workflow_id']}/signals/stop"), {})
                if fate == OK or status in (404, 409):
                    break
                time.sleep(0.1)
    deadline = time.time() + 300
    for r in list_runs(port):
        if r["status"] != "running":
            continue
        while time.time() < deadline:
            fate, status, doc = request(port, "GET", api(
                f"/workflows/{r['workflow_id']}/result?wait=1&timeout_ms=10000"), timeout=30)
            if fate == OK and status == 200:
                break
            time.sleep(0.1)
        else:
            FAIL.add("I3", f"{r['workflow_id']} did not close within 300 s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ttaid", required=True)
    ap.add_argument("--history", required=True)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--dir", default=None, help="work directory (default: a new temporary one)")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--cycle-min", type=float, default=0.5)
    ap.add_argument("--cycle-max", type=float, default=2.5)
    ap.add_argument("--report", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"torture: seed {seed} (--seed {seed} repeats the same choices), "
          f"{args.kills} kills, {args.clients} clients", flush=True)
    rng = random.Random(seed)
    work = args.dir or tempfile.mkdtemp(prefix="ttai-torture-")
    if args.dir:
        shutil.rmtree(work, ignore_errors=True)   # a fresh store every run
    os.makedirs(work, exist_ok=True)
    data, sink = os.path.join(work, "data"), os.path.join(work, "sink")
    daemon = Daemon(args.ttaid, data, sink, os.path.join(work, "ttaid.log"), [])
    m = Model(seed)
    t_begin = time.time()
    figures = {"seed": seed}
    daemon.start()
    fate, status, doc = request(daemon.port, "POST", api("/schedules"), {
        "schedule_id": SCHEDULE_ID, "spec": {"cron": "*/2 * * * * *"},
        "action": {"workflow_type": "hello", "input": "torture"}})
    if fate != OK:
        print(f"torture: cannot create the schedule: {status} {doc}", file=sys.stderr)
        return 1
    for k in range(args.kills):
        stop_event, threads = drive(daemon, m, args, rng)
        daemon.kill()
        stop_event.set()
        for t in threads:
            t.join()
        check_verify(args.history, data, f"after kill {k + 1}")
        m.epoch += 1
        daemon.start()
        check_after_restart(daemon.port, m, args.history, data, f"after kill {k + 1}")
        print(f"torture: kill {k + 1}/{args.kills}: {sum(m.ops.values())} requests so far, "
              f"{len(FAIL.items)} problems", flush=True)
    finish(daemon, m)
    port = daemon.port
    # Final checks.
    figures["acked_starts"] = check_starts(port, m, "at the end")
    ch = chains(port, "counter")
    doubt_landed = 0
    for c in list(m.counters.values()):
        if c.wid in ch:
            doubt_landed += check_counter(port, c, ch[c.wid], final=True)
            check_chain(port, c.wid, ch[c.wid], "counter")
        elif c.acked:
            FAIL.add("I1", f"{c.wid} has acknowledged signals but no run")
    extra_ids = set(ch) - set(m.counters)
    if extra_ids:
        FAIL.add("I1", f"counters nobody started: {sorted(extra_ids)[:10]}")
    check_tortures(port, m, sink, figures)
    sched = chains(port, "hello")
    for wid, runs in sched.items():
        evs = check_chain(port, wid, runs, "schedule")
        if evs is not None:
            res = get(port, api(f"/workflows/{wid}/result"))
            if res.get("result") != "Hello, torture!":
                FAIL.add("I8", f"{wid}: result {res}")
    figures["schedule_workflows"] = len(sched)
    figures["query_regressions"] = check_queries(m)
    rc = daemon.stop()
    if rc != 0:
        FAIL.add("I5", f"ttaid exited with {rc} after SIGTERM")
    check_verify(args.history, data, "at the end")
    p = subprocess.run([args.history, "--data", data, "replay", "--all"], capture_output=True,
                       text=True)
    if p.returncode != 0:
        FAIL.add("I5", f"ttai-history replay --all: exit {p.returncode}: "
                       f"{(p.stdout + p.stderr)[-2000:]}")
    with m.lock:
        counters = list(m.counters.values())
    figures.update({
        "kills": args.kills,
        "daemon_starts": daemon.starts,
        "duration_s": round(time.time() - t_begin, 1),
        "requests": sum(m.ops.values()),
        "counters": len(ch),
        "signals_acked": sum(len(c.acked) for c in counters),
        "signals_in_doubt": sum(len(c.doubt) for c in counters),
        "signals_in_doubt_recorded": doubt_landed,
        "signals_refused": sum(len(c.refused) for c in counters),
        "queries": sum(v for k, v in m.ops.items() if k.startswith("query:")),
        "ops": dict(sorted(m.ops.items())),
        "invariant_failures": len(FAIL.items),
    })
    print("torture: figures " + json.dumps(figures, indent=1), flush=True)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(figures, f, indent=1)
    if FAIL.items:
        print(f"torture: FAILED, {len(FAIL.items)} broken invariants (seed {seed}, "
              f"work directory {work})", file=sys.stderr)
        return 1
    print(f"torture: all invariants held over {args.kills} kills", flush=True)
    if not args.keep and args.dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run():
    """main(), never leaving a daemon behind (an exception, an early exit)."""
    started = []
    real_start = Daemon.start

    def start(self):
        started.append(self)
        real_start(self)

    Daemon.start = start
    try:
        return main()
    finally:
        for d in started:
            if d.proc is not None:
                d.kill()


if __name__ == "__main__":
    sys.exit(run())
