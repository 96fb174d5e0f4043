"""A classroom on this machine: N students, each with an IDE session, against a real service.

Each student opens the IDE (a socket and ``prepare`` for its program's mode), types for 5-20 s,
then presses Run every 8-30 s for the lesson.  Programs: 60 % terminal (prints, one input()
answered), 25 % pygame (30 fps for 10 s, then Stop), 15 % turtle (a short drawing).  Scenarios:

  steady       N students (--levels) arrive over --arrive s; latencies count the runs pressed
               after --warmup s (the ramp), failures count every run;
  lesson-start --start-n students arrive over --start-arrive s, and all press Run within 2 s
               once the last has had the page open 5 s;
  typo-fixer   one student runs a terminal program --typo-runs times back to back.

Every scenario runs once with PYPLAY_SANDBOX_PER=session (each session owns its sandbox, reset
in place between runs) and once with PYPLAY_SANDBOX_PER=run (a fresh sandbox per run: the
baseline), with the same random schedule and the service's default pool sizes.  Reported:
run -> first output and run -> first display frame (p50/p95/p99), failures, host CPU per run,
memory per connected student and sandboxes booted per run.  How CPU and memory are read is in
bench/classroom_sim.py.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import os
import random
import sys
import time
from typing import Dict, List, Optional, Sequence

from bench.classroom_sim import ProcessTree, RunRecord, Student, mix
from bench.stats import percentile, summary_row, table
from common.config import Config
from testkit.service import Service

LIFECYCLES = ("session", "run")   # the second is the baseline
IDLE_SECONDS = 5.0                # before a scenario: the idle service's CPU rate (warm pools) over this
DRAIN_SECONDS = 120.0             # after a scenario: wait this long at most for the service to be idle
SAMPLE_SECONDS = 10.0             # memory samples during a scenario


@dataclasses.dataclass
class Outcome:
    scenario: str
    level: int
    lifecycle: str
    records: List[RunRecord]        # every run
    timed: List[RunRecord]          # the runs whose latencies are reported
    other_failures: List[str]
    cpu_seconds: float              # the service and its descendants, scenario start to idle again
    idle_cpu_seconds: float         # what the idle service (warm pools) would have used meanwhile
    pss_per_student: float
    boots: float
    seconds: float

    @property
    def failures(self) -> List[str]:
        return [r.failure for r in self.records if r.failure] + self.other_failures

    def first_output(self) -> List[float]:
        return [r.first_output for r in self.timed if r.first_output is not None and not r.failure]

    def first_frame(self, mode: Optional[str] = None) -> List[float]:
        return [r.first_frame for r in self.timed if r.first_frame is not None and not r.failure
                and (mode is None or r.mode == mode)]

    def first_output_of(self, mode: str) -> List[float]:
        return [r.first_output for r in self.timed if r.first_output is not None and not r.failure and r.mode == mode]


class Classroom:
    """One service (one lifecycle) and the scenarios run against it, one after another."""

    def __init__(self, lifecycle: str) -> None:
        pools = dict(Config().pool_sizes)      # the service's own defaults, written out so
        self.pool_total = sum(pools.values())  # testkit.service.Service does not zero them
        self.lifecycle = lifecycle
        self.service = Service({"PYPLAY_SANDBOX_PER": lifecycle,
                                **{f"PYPLAY_POOL_{mode.upper()}": str(size) for mode, size in pools.items()}})

    def __enter__(self) -> Classroom:
        try:
            self.service.start(wait_ready=180)
        except BaseException:
            self.leftovers = self.service.runsc_ids()
            self.service.cleanup()
            raise
        self.tree = ProcessTree(self.service.process.pid)
        self.samples: List[tuple] = []
        return self

    def __exit__(self, *exc) -> None:
        self.service.stop()
        self.leftovers = self.service.runsc_ids()
        self.log_problems = log_problems(self.service.log())
        self.service.cleanup()

    @property
    def urls(self):
        return self.service.url, f"ws://127.0.0.1:{self.service.port}"

    async def idle(self) -> None:
        """Wait (bounded) until only the warm pools are live and full: every scenario's costs
        include its teardowns and the refills it caused."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            try:
                metrics = self.service.metrics()
            except OSError:
                metrics = {}
            if metrics.get("pyplay_sandboxes_live", 1e9) <= self.pool_total and \
                    all(self.service.pool_ready(mode) for mode in ("python", "pygame", "turtle")):
                return
            await asyncio.sleep(0.5)
        print(f"  ({self.lifecycle}: the service was not idle after {DRAIN_SECONDS:.0f} s: {metrics})", flush=True)

    async def measure(self, scenario: str, level: int, body) -> Outcome:
        await self.idle()
        idle_from = self.tree.cpu_seconds()
        await asyncio.sleep(IDLE_SECONDS)
        cpu, boots = self.tree.cpu_seconds(), self.service.metrics().get("pyplay_sandboxes_created", 0)
        idle_rate = (cpu - idle_from) / IDLE_SECONDS
        students: List[Student] = []
        samples = self.samples = []
        sampler = asyncio.ensure_future(self._sample(students))
        began = time.monotonic()
        try:
            timed_from = await body(students)
        finally:
            sampler.cancel()
        seconds = time.monotonic() - began
        await self.idle()
        idle_for = time.monotonic() - began
        cpu = self.tree.cpu_seconds() - cpu
        boots = self.service.metrics().get("pyplay_sandboxes_created", 0) - boots
        records = [r for s in students for r in s.runs]
        most = max((connected for connected, _ in samples), default=0)
        per_student = max((pss / connected for connected, pss in samples if connected == most and most),
                          default=0.0)
        return Outcome(scenario, level, self.lifecycle, records, [r for r in records if r.sent_at >= timed_from],
                       [f for s in students for f in s.failures], cpu, idle_rate * idle_for, per_student, boots,
                       seconds)

    async def _sample(self, students: List[Student]) -> None:
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            await self.sample_now(students)

    async def sample_now(self, students: List[Student]) -> None:
        connected = sum(1 for s in students if s.ws is not None)
        if connected:
            self.samples.append((connected, await asyncio.to_thread(self.tree.pss_bytes)))

    # scenarios ----------------------------------------------------------------------

    async def steady(self, count: int, lesson: float, arrive: float, warmup: float, seed: int) -> Outcome:
        async def body(students: List[Student]) -> float:
            rng = random.Random(seed * 1000 + count)
            began = time.monotonic()
            end = began + lesson
            for index, mode in enumerate(mix(count, rng)):
                students.append(Student(*self.urls, index, mode))
            opens = [rng.uniform(0, arrive) for _ in students]

            async def life(student: Student, open_at: float) -> None:
                own = random.Random(seed * 1000 + count * 7 + student.index)
                await sleep_until(began + open_at)
                if not await student.open():
                    return
                press = time.monotonic() + own.uniform(5, 20)
                while press < end and len(student.runs) < 500 and student.ws is not None:
                    await sleep_until(press)
                    record = await student.run_once()
                    press = max(record.sent_at + own.uniform(8, 30), time.monotonic() + 1.0)
                await sleep_until(end)       # the tab stays open until the lesson ends
                await student.close()
            await asyncio.gather(*(life(s, t) for s, t in zip(students, opens, strict=True)))
            return began + warmup
        return await self.measure("steady", count, body)

    async def lesson_start(self, count: int, arrive: float, seed: int) -> Outcome:
        async def body(students: List[Student]) -> float:
            rng = random.Random(seed * 1000 + 999)
            began = time.monotonic()
            go = began + arrive + 5.0
            for index, mode in enumerate(mix(count, rng)):
                students.append(Student(*self.urls, index, mode))
            opens = [rng.uniform(0, arrive) for _ in students]
            presses = [rng.uniform(0, 2) for _ in students]

            async def life(student: Student, open_at: float, press: float) -> None:
                await sleep_until(began + open_at)
                if await student.open():
                    await sleep_until(go + press)
                    await student.run_once()
                    await student.close()

            async def weigh() -> None:       # memory when the whole class has the page open
                await sleep_until(go - 1.0)
                await self.sample_now(students)
            await asyncio.gather(weigh(), *(life(*args) for args in zip(students, opens, presses, strict=True)))
            return began
        return await self.measure("lesson-start", count, body)

    async def typo_fixer(self, runs: int) -> Outcome:
        async def body(students: List[Student]) -> float:
            student = Student(*self.urls, 0, "python")
            students.append(student)
            if await student.open() and await student.wait_ready(60):
                for _ in range(runs):
                    if student.ws is None:
                        break
                    await student.run_once()
            await self.sample_now(students)
            await student.close()
            return 0.0
        return await self.measure("typo-fixer", 1, body)


async def sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.monotonic()))


def log_problems(log: str) -> Dict[str, int]:
    """Warnings and errors in the service's JSON log, by event name."""
    found: Dict[str, int] = collections.Counter()
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if "Traceback" in line:
                found["traceback (not JSON)"] += 1
            continue
        if isinstance(entry, dict) and entry.get("level") in ("warning", "error", "critical", "exception"):
            found[f"{entry.get('level')}:{entry.get('event')}"] += 1
    return dict(found)


# reporting --------------------------------------------------------------------------

def _name(outcome: Outcome) -> str:
    return f"{outcome.scenario} N={outcome.level} {outcome.lifecycle}"


def latency_rows(pairs: Sequence[Sequence[Outcome]], pick) -> List[List[object]]:
    rows = []
    for pair in pairs:
        baseline = pick(pair[-1])
        for outcome in pair:
            values = pick(outcome)
            if not values:
                rows.append([_name(outcome), 0, "-", "-", "-", "-", "-"])
                continue
            median = sorted(baseline)[len(baseline) // 2] if baseline else float("nan")
            row = summary_row(_name(outcome), values, median)
            p95 = percentile(values, 0.95)
            row.insert(4, f"{percentile(values, 0.99) * 1000:.1f}")
            row.append(f"{p95 / percentile(baseline, 0.95):.2f}x" if baseline else "-")
            rows.append(row)
    return rows


def cost_rows(pairs: Sequence[Sequence[Outcome]]) -> List[List[object]]:
    rows = []
    for pair in pairs:
        base = (pair[-1].cpu_seconds - pair[-1].idle_cpu_seconds) / max(1, len(pair[-1].records))
        for outcome in pair:
            runs = max(1, len(outcome.records))
            statuses = collections.Counter(s for r in outcome.records for s in r.statuses)
            cpu = (outcome.cpu_seconds - outcome.idle_cpu_seconds) / runs
            rows.append([_name(outcome), len(outcome.records), len(outcome.failures), f"{cpu * 1000:.0f}",
                         f"{outcome.cpu_seconds / runs * 1000:.0f}",
                         f"{outcome.pss_per_student / 2 ** 20:.0f}", f"{outcome.boots / runs:.2f}",
                         f"{statuses['queued']}/{statuses['starting']}", f"{cpu / base:.2f}x" if base else "-"])
    return rows


def meets_targets(outcome: Outcome) -> bool:
    values = outcome.first_output()
    return (bool(values) and not outcome.failures
            and percentile(values, 0.95) <= 0.100 and percentile(values, 0.99) <= 0.300)


def report(pairs: List[List[Outcome]], args, leftovers: Dict[str, int], problems: Dict[str, Dict[str, int]]) -> None:
    cores = os.cpu_count()
    print(table(f"run -> first output (all modes; steady: runs pressed after {args.warmup:.0f} s of a "
                f"{args.lesson:.0f} s lesson, arrivals over {args.arrive:.0f} s; lesson start: arrivals over "
                f"{args.start_arrive:.0f} s), {cores} cores, baseline PYPLAY_SANDBOX_PER=run",
                latency_rows(pairs, Outcome.first_output),
                ["scenario / lifecycle", "runs", "p50 ms", "p95 ms", "p99 ms", "p50 vs run", "p95 vs run"]))
    print()
    print(table("run -> first display frame at an RFB client (pygame and turtle runs)",
                latency_rows([p for p in pairs if p[0].scenario != "typo-fixer"], Outcome.first_frame),
                ["scenario / lifecycle", "runs", "p50 ms", "p95 ms", "p99 ms", "p50 vs run", "p95 vs run"]))
    print()
    print(table("costs: host CPU of the service and every descendant per run, from the first student to idle "
                "again (teardowns and pool refills included; net = minus the idle warm pools' rate), PSS of the "
                "same per connected student, sandboxes booted per run",
                cost_rows(pairs), ["scenario / lifecycle", "runs", "failures", "CPU ms/run net", "gross",
                                   "MiB/student", "boots/run", "queued/starting", "CPU vs run"]))
    for pair in pairs:
        for outcome in pair:
            if outcome.failures:
                print(f"  failures {_name(outcome)}: {dict(collections.Counter(outcome.failures))}")
    for pair in pairs:
        if pair[0].scenario == "lesson-start":
            for outcome in pair:
                terminal, frames = outcome.first_output_of("python"), outcome.first_frame("pygame")
                terminal_p95 = percentile(terminal, 0.95) * 1000 if terminal else float("nan")
                frames_p95 = percentile(frames, 0.95) * 1000 if frames else float("nan")
                print(f"  lesson start N={outcome.level} {outcome.lifecycle}: terminal p95 "
                      f"{terminal_p95:.0f} ms (target 150), pygame first frame p95 {frames_p95:.0f} ms (target 600)")
    for lifecycle in LIFECYCLES:
        good = [o.level for pair in pairs for o in pair
                if o.scenario == "steady" and o.lifecycle == lifecycle and meets_targets(o)]
        print(f"  largest steady N with first-output p95 <= 100 ms, p99 <= 300 ms, 0 failures "
              f"({lifecycle}): {max(good) if good else 'none'}")
    for lifecycle in LIFECYCLES:
        print(f"  {lifecycle}: runsc sandboxes left after shutdown: {leftovers.get(lifecycle)}; "
              f"service log warnings/errors: {problems.get(lifecycle) or 'none'}")


async def main_async(args) -> None:
    by_lifecycle: Dict[str, List[Outcome]] = {}
    leftovers: Dict[str, int] = {}
    problems: Dict[str, Dict[str, int]] = {}
    for lifecycle in LIFECYCLES:
        outcomes = by_lifecycle.setdefault(lifecycle, [])
        classroom = Classroom(lifecycle)
        try:
            with classroom:
                for count in args.levels:
                    outcomes.append(await classroom.steady(count, args.lesson, args.arrive, args.warmup, args.seed))
                    progress(outcomes[-1])
                if args.start_n:
                    outcomes.append(await classroom.lesson_start(args.start_n, args.start_arrive, args.seed))
                    progress(outcomes[-1])
                if args.typo_runs:
                    outcomes.append(await classroom.typo_fixer(args.typo_runs))
                    progress(outcomes[-1])
        finally:
            leftovers[lifecycle] = len(getattr(classroom, "leftovers", []))
            problems[lifecycle] = getattr(classroom, "log_problems", {})
    pairs = [list(pair) for pair in zip(*(by_lifecycle[lc] for lc in LIFECYCLES), strict=True)]
    report(pairs, args, leftovers, problems)
    assert not any(leftovers.values()), f"runsc sandboxes left after shutdown: {leftovers}"


def progress(outcome: Outcome) -> None:
    values = outcome.first_output()
    print(f"  done {_name(outcome)} in {outcome.seconds:.0f} s: {len(outcome.records)} runs, "
          f"{len(outcome.failures)} failures, first output p95 "
          f"{percentile(values, 0.95) * 1000 if values else float('nan'):.0f} ms", flush=True)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: N=10 for 60 s, lesson start N=10")
    parser.add_argument("--levels", help="steady classroom sizes, e.g. 10,30 (default 10,30,60,100)")
    parser.add_argument("--lesson", type=float, help="steady lesson length in s (default 140)")
    parser.add_argument("--arrive", type=float, help="steady: students open the IDE over this many s (default 40)")
    parser.add_argument("--warmup", type=float,
                        help="steady: latencies count runs pressed after this (default arrive + 20)")
    parser.add_argument("--start-n", type=int, help="lesson start: students (default 30)")
    parser.add_argument("--start-arrive", type=float,
                        help="lesson start: arrivals spread over this many s (default 20)")
    parser.add_argument("--typo-runs", type=int, default=20, help="typo fixer: back-to-back runs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    quick = args.quick
    args.levels = [int(n) for n in (args.levels or ("10" if quick else "10,30,60,100")).split(",") if n.strip()]
    args.lesson = args.lesson if args.lesson is not None else (60.0 if quick else 140.0)
    args.arrive = args.arrive if args.arrive is not None else (10.0 if quick else 40.0)
    args.warmup = args.warmup if args.warmup is not None else args.arrive + 20.0
    args.start_n = args.start_n if args.start_n is not None else (10 if quick else 30)
    args.start_arrive = args.start_arrive if args.start_arrive is not None else (10.0 if quick else 20.0)
    assert all(0 < n <= 500 for n in args.levels) and 0 <= args.start_n <= 500 and 0 <= args.typo_runs <= 1000
    assert 0 < args.lesson <= 3600 and 0 <= args.arrive <= args.lesson
    return args


def main() -> None:
    args = parse(sys.argv[1:])
    print(f"classroom: levels {args.levels}, lesson {args.lesson:.0f} s (arrivals over {args.arrive:.0f} s, "
          f"latencies after {args.warmup:.0f} s), lesson start N={args.start_n} (arrivals over "
          f"{args.start_arrive:.0f} s), typo fixer {args.typo_runs} runs; lifecycles {', '.join(LIFECYCLES)}",
          flush=True)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
