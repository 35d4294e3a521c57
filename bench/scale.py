"""How the dispatcher holds up at studio scale: four app processes on one PostgreSQL, 64 GPUs, a deep queue.

Why: a big studio runs several app processes on one database (for pages, and so one crash stops nothing)
in front of dozens of GPUs, with queues of tens of thousands of jobs after a night's batches. Every
process's dispatcher then reads the same queue and races the others for the same free slots: a tick that
slows down as the queue grows leaves GPUs idle, two processes sending one job wastes a GPU's time, and one
person's 5,000 jobs must not make a colleague wait for all of them.

Setup: a throwaway PostgreSQL database (`storycanvas_scale_<random>`, dropped at the end), 4 app processes
(`python -m app serve`, dispatcher on, one data folder, each its own STORYCANVAS_WORKER_ID as the README
asks) and 64 fake ComfyUI servers, 16 per process (bench/fake_servers.py). The servers are registered
over REST by an administrator, max_jobs 1 each. The deep queue and the throughput jobs are inserted
straight into generation_jobs (an image graph the fakes run without a sampler, a different seed each, as
bench/dispatch.py queues them): 100,000 REST calls would measure the REST layer for an hour. The
fair-share jobs are queued over REST as their users would: user A one batch of 500 clips × 10 variations
(POST /projects/{id}/batches), user B 5 variations of one clip (POST /clips/{id}/generate). Phases, one
after another:

    deep:       100,000 jobs queued before the apps start; the fakes take 5 s a job (the queue stays
                deep); two minutes after the 64 servers are online, each process's tick figures are read
                (GET /api/v1/admin/dispatcher); then what is still queued is deleted and the rest finish
    throughput: 2,000 jobs of 10 s on the 64 servers (ideal: 2000 / 64 × 10 s = 312.5 s from the first
                POST /prompt to the last finish, as the fakes log them)
    fair:       A's 5,000 jobs of 3 s fill every server; B queues 5 once A's run at full pace

It prints:

    tick_ms_p95: the highest of the 4 processes' 95th percentile tick durations (aim < 50)
    tick_ms_p95_per_process: each process's own, for information
    throughput_ratio: ideal time / measured time (aim ≥ 0.95)
    cpu_ms_per_job: the 4 app processes' CPU time during the throughput phase per job finished
    fair_wait_jobs: A's jobs dispatched after B's jobs were queued (their latest created_at) and before
        B's first was dispatched (aim ≤ 64: one round of the fleet at most)
    double_claims: jobs sent to a server more than once (the fakes' logs of prompts received, by the job
        id the dispatcher sends in extra_data), plus jobs with attempts > 1 whose failure nobody recorded:
        no fake failed or refused them, and the app never put them back in the queue with an error (read
        every second, since completing clears it) (must be 0)
    degraded_servers: servers ever seen not online (comfy_servers.status, read every second from the
        moment all 64 were first online); the fakes are healthy throughout (must be 0)

On stderr: each process's tick figures and how many ticks the window held, jobs per server, prompts
that reached a server still busy with another (two processes filled its one free slot), the servers seen
not online with their message, and the load average at each phase: the figures assume the two cores are
the bench's, and other work on the machine slows every phase (timeouts then fire in the app too).

Bounded to about 15 minutes on 2 cores; talks only to 127.0.0.1. The apps' own output goes to app-<n>.log
in the data folder, whose last lines are shown if the run fails; everything started is stopped and the
database dropped on any exit, Ctrl-C included.

    .venv/bin/python bench/scale.py [--database-url postgresql://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from fake_servers import configure, graph, logs, start_fakes, stop_fakes  # noqa: E402
from sqlalchemy import delete, func, insert, select  # noqa: E402
from sqlmodel import col  # noqa: E402
from startup import drop_pg_database, free_port, pg_database, server_env, start_server, stop  # noqa: E402

from data.engine import dispose_engine, session_scope  # noqa: E402
from data.models import ComfyServer, GenerationJob, User  # noqa: E402
from data.models._common import utcnow  # noqa: E402

APPS = 4
FAKE_PROCESSES = 4
FAKES_PER_PROCESS = 16
SERVERS = FAKE_PROCESSES * FAKES_PER_PROCESS
CHECKPOINT = "alpha.safetensors"
DEEP_QUEUE = 100_000
DEEP_JOB_S = 5.0
TICK_WINDOW_S = 120.0
THROUGHPUT_JOBS = 2000
THROUGHPUT_JOB_S = 10.0
FAIR_CLIPS, FAIR_VARIATIONS, FAIR_B_JOBS = 500, 10, 5
FAIR_JOB_S = 3.0
ADMIN, USER_A, USER_B = "scale-admin", "scale-a", "scale-b"
PASSWORD = "scale-password-1"


def note(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def note_load(when: str) -> None:
    """The machine's load: the figures assume the 2 cores are the bench's (other work slows every phase)."""
    one, five, _fifteen = os.getloadavg()
    note(f"load average {when}: {one:.1f} (1 min), {five:.1f} (5 min)")


@dataclass(frozen=True)
class Seeded:
    admin: int
    project: int
    clip: int
    user_a: int
    project_a: int
    clips_a: list[int]
    user_b: int
    clip_b: int


def seed() -> Seeded:
    """The schema, an administrator with a project and clip for the inserted jobs, and users A and B
    with clips to queue from (A: one per batch clip; B: one)."""
    from app.services import clips, projects, scenes, users
    from data import migrate

    migrate.upgrade()
    with session_scope() as session:

        def person(name: str, admin: bool) -> User:
            data = users.validate_registration(name, f"{name}@example.com", PASSWORD)
            return users.register(session, data, admin=admin, force=True)

        def project_with_clips(owner: User, name: str, count: int) -> tuple[int, list[int]]:
            project = projects.create_project(session, owner, projects.parse_create(name=name))
            assert project.id is not None
            scene = scenes.create_scene(session, owner, project.id, "Scene")
            assert scene.id is not None
            made = []
            for index in range(count):
                prompt = f"{name} shot {index}"
                clip = clips.create_clip(session, owner, scene.id, start=index * 2.0, duration=2.0, image_prompt=prompt)
                assert clip.id is not None
                made.append(clip.id)
            return project.id, made

        admin, a, b = person(ADMIN, True), person(USER_A, False), person(USER_B, False)
        project, (clip,) = project_with_clips(admin, "Scale", 1)
        project_a, clips_a = project_with_clips(a, "A's feature", FAIR_CLIPS)
        _project_b, (clip_b,) = project_with_clips(b, "B's short", 1)
        assert admin.id is not None and a.id is not None and b.id is not None
        return Seeded(admin.id, project, clip, a.id, project_a, clips_a, b.id, clip_b)


def insert_jobs(owner: int, project: int, clip: int, seeds: Iterable[int]) -> tuple[int, int]:
    """Queued image jobs in bulk, each its own graph (by seed); the (first, last) ids inserted."""
    now = utcnow()
    nodes = sorted({node["class_type"] for node in graph(0, None).values()})
    rows = [
        {
            "kind": "image",
            "project_id": project,
            "clip_id": clip,
            "owner_id": owner,
            "params": {"seed": seed},
            "resolved_graph": graph(seed, None),
            "checkpoint": None,
            "required_models": [],
            "required_nodes": nodes,
            "created_at": now + timedelta(microseconds=index),
        }
        for index, seed in enumerate(seeds)
    ]
    with session_scope() as session:
        before = session.execute(select(func.max(GenerationJob.id))).scalar() or 0
        for start in range(0, len(rows), 10_000):
            session.execute(insert(GenerationJob), rows[start : start + 10_000])
        session.commit()
        last = session.execute(select(func.max(GenerationJob.id))).scalar() or 0
    return before + 1, last


def count_jobs(*conditions: Any) -> int:
    with session_scope() as session:
        return int(session.execute(select(func.count()).select_from(GenerationJob).where(*conditions)).scalar() or 0)


def active() -> Any:
    return col(GenerationJob.status).in_(("dispatched", "running"))


def drain(timeout: float) -> None:
    """Deletes what is still queued and waits for the running jobs (a claim racing the delete finds no row
    and moves on, as it does when another process claimed the job first)."""
    with session_scope() as session:
        deleted = session.execute(delete(GenerationJob).where(col(GenerationJob.status) == "queued"))
        session.commit()
    note(f"deleted {deleted.rowcount} queued jobs; waiting for the running ones")  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while count_jobs(active()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs still running {timeout:.0f} s after the queue was emptied")
        time.sleep(0.5)


class Watch(threading.Thread):
    """Every second: servers not online (with what they said), and unfinished jobs carrying an error (an
    attempt failed and the job was queued again; completing clears the error, so it is caught on the way)."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="watch")
        self.not_online: dict[int, tuple[str, str | None]] = {}
        self.failed_jobs: set[int] = set()
        self._stop_event = threading.Event()

    def run(self) -> None:
        servers = select(col(ComfyServer.id), col(ComfyServer.status), col(ComfyServer.last_error))
        retried = select(col(GenerationJob.id)).where(
            col(GenerationJob.status).in_(("queued", "dispatched", "running")), col(GenerationJob.error).is_not(None)
        )
        while not self._stop_event.is_set():
            with session_scope() as session:
                rows = session.execute(servers).all()
                self.failed_jobs.update(session.execute(retried).scalars())
            for server_id, status, error in rows:
                if status != "online" and server_id not in self.not_online:
                    self.not_online[server_id] = (status, error)
                    note(f"server {server_id} {status}: {error}")
            self._stop_event.wait(1.0)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


class FakeProbe(threading.Thread):
    """GET /queue on two fakes of each fake process every half second, as the app's failover polls them: how
    long they take to answer, seen from outside the app (a slow answer is the fake's, not the app's)."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(daemon=True, name="fake-probe")
        self.urls = urls[:: FAKES_PER_PROCESS // 2]
        self.times: list[float] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop_event.is_set():
                for url in self.urls:
                    started = time.perf_counter()
                    with contextlib.suppress(httpx.HTTPError):
                        client.get(f"{url}/queue")
                    self.times.append(time.perf_counter() - started)
                self._stop_event.wait(0.5)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=60)
        ordered = sorted(self.times) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        note(f"fakes' /queue answer time seen by the bench: p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")


def token(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def register_servers(base: str, headers: dict[str, str], urls: list[str]) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for index, url in enumerate(urls):
            body = {"name": f"gpu-{index:02}", "url": url, "max_jobs": 1}
            client.post("/api/v1/servers", json=body).raise_for_status()


def wait_online(timeout: float = 300) -> None:
    """Every server online with its catalog read (the offline probe finds new servers within seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            ready = session.execute(
                select(func.count())
                .select_from(ComfyServer)
                .where(col(ComfyServer.status) == "online", col(ComfyServer.catalog_refreshed_at).is_not(None))
            ).scalar()
        if ready == SERVERS:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {ready} of {SERVERS} servers online after {timeout:.0f} s")
        time.sleep(0.5)


def tick_stats(bases: list[str], headers: dict[str, str]) -> list[dict[str, Any]]:
    stats = []
    for base in bases:
        answer = httpx.get(f"{base}/api/v1/admin/dispatcher", headers=headers, timeout=30)
        answer.raise_for_status()
        stats.append(answer.json())
    return stats


def deep_phase(bases: list[str], headers: dict[str, str]) -> None:
    """The tick figures with 100,000 jobs queued: the window starts once every server is online."""
    before = {entry["worker_id"]: entry["ticks"] for entry in tick_stats(bases, headers)}
    started_jobs = count_jobs(active()) + count_jobs(_status("completed"))
    time.sleep(TICK_WINDOW_S)
    stats = tick_stats(bases, headers)
    ran = count_jobs(active()) + count_jobs(_status("completed")) - started_jobs
    queued = count_jobs(_status("queued"))
    for entry in stats:
        note(
            f"{entry['worker_id']}: {entry['ticks'] - before[entry['worker_id']]} ticks in the window, "
            f"{entry['recent']} described; p50 {entry['tick_ms_p50']} p95 {entry['tick_ms_p95']} "
            f"max {entry['tick_ms_max']} ms"
        )
    note(f"{ran} jobs dispatched in the {TICK_WINDOW_S:.0f} s window; {queued} still queued")
    per_process = [entry["tick_ms_p95"] for entry in stats]
    print(f"tick_ms_p95: {max(per_process):.1f}", flush=True)
    print(f"tick_ms_p95_per_process: [{', '.join(f'{value:.1f}' for value in per_process)}]", flush=True)


def _status(status: str) -> Any:
    return col(GenerationJob.status) == status


def _job_range(first: int, last: int) -> Any:
    return col(GenerationJob.id).between(first, last)


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    total = 0.0
    for process in processes:
        times = psutil.Process(process.pid).cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


def throughput_phase(seeded: Seeded, urls: list[str], apps: list[subprocess.Popen[bytes]]) -> None:
    configure(urls, job_seconds=THROUGHPUT_JOB_S)
    cpu_before = cpu_seconds(apps)
    first, last = insert_jobs(
        seeded.admin, seeded.project, seeded.clip, range(DEEP_QUEUE, DEEP_QUEUE + THROUGHPUT_JOBS)
    )
    ideal = THROUGHPUT_JOBS / SERVERS * THROUGHPUT_JOB_S
    deadline = time.monotonic() + 2 * ideal + 60
    in_range = _job_range(first, last)
    while (done := count_jobs(in_range, _status("completed"))) < THROUGHPUT_JOBS:
        if time.monotonic() > deadline:
            note(f"only {done} of {THROUGHPUT_JOBS} jobs finished in time: the ratio counts those")
            break
        time.sleep(1)
    cpu = cpu_seconds(apps) - cpu_before
    finished = count_jobs(in_range, _status("completed"))
    prompt_jobs: dict[str, int] = {}
    received: list[float] = []
    ended: list[float] = []
    records = logs(urls)
    for record in records:
        for prompt in record["prompts"]:
            job_id = (prompt.get("extra_data") or {}).get("storycanvas_job")
            if isinstance(job_id, int) and first <= job_id <= last:
                prompt_jobs[prompt["prompt_id"]] = job_id
                received.append(prompt["received_at"])
        ended += [
            run["ended_at"]
            for run in record["executions"]
            if run["prompt_id"] in prompt_jobs and run["outcome"] == "success"
        ]
    span = max(ended) - min(received)
    busy = [sum(1 for run in record["executions"] if run["prompt_id"] in prompt_jobs) for record in records]
    note(f"{finished} jobs in {span:.1f} s; jobs per server {min(busy)}–{max(busy)}")
    print(f"throughput_ratio: {finished / SERVERS * THROUGHPUT_JOB_S / span:.3f}", flush=True)
    print(f"cpu_ms_per_job: {cpu * 1000 / max(1, finished):.1f}", flush=True)


def fair_phase(seeded: Seeded, base: str, urls: list[str]) -> None:
    configure(urls, job_seconds=FAIR_JOB_S)
    settings = {"mode": "image", "checkpoint": CHECKPOINT, "variations": FAIR_VARIATIONS, "steps": 4}
    with httpx.Client(base_url=base, headers=token(base, USER_A), timeout=600) as client:
        started = time.monotonic()
        client.post(
            f"/api/v1/projects/{seeded.project_a}/batches", json={"clip_ids": seeded.clips_a, "settings": settings}
        ).raise_for_status()
        note(f"A's batch of {FAIR_CLIPS * FAIR_VARIATIONS} jobs queued in {time.monotonic() - started:.1f} s")
    owner_a = col(GenerationJob.owner_id) == seeded.user_a
    deadline = time.monotonic() + 120
    while count_jobs(owner_a, active()) < SERVERS or count_jobs(owner_a, _status("completed")) < SERVERS:
        if time.monotonic() > deadline:
            raise RuntimeError("A's jobs did not fill the servers")  # every server busy, one round already done
        time.sleep(0.2)
    with httpx.Client(base_url=base, headers=token(base, USER_B), timeout=60) as client:
        client.post(
            f"/api/v1/clips/{seeded.clip_b}/generate",
            json={"checkpoint": CHECKPOINT, "variations": FAIR_B_JOBS, "steps": 4},
        ).raise_for_status()
    owner_b = col(GenerationJob.owner_id) == seeded.user_b
    deadline = time.monotonic() + 120
    while count_jobs(owner_b, col(GenerationJob.dispatched_at).is_not(None)) < FAIR_B_JOBS:
        if time.monotonic() > deadline:
            raise RuntimeError("B's jobs were not all dispatched within 120 s")
        time.sleep(0.2)
    with session_scope() as session:
        queued_at, first_dispatch = session.execute(
            select(func.max(GenerationJob.created_at), func.min(GenerationJob.dispatched_at)).where(owner_b)
        ).one()
        between = session.execute(
            select(func.count())
            .select_from(GenerationJob)
            .where(owner_a, col(GenerationJob.dispatched_at) > queued_at)
            .where(col(GenerationJob.dispatched_at) < first_dispatch)
        ).scalar()
    note(f"B's first job dispatched {(first_dispatch - queued_at).total_seconds():.2f} s after B queued")
    print(f"fair_wait_jobs: {between}", flush=True)


def sent_to_busy_servers(records: list[dict[str, Any]]) -> int:
    """Prompts that reached a server (max_jobs 1) while it still held another of ours: two processes
    filled the same free slot. Not a double claim (two jobs, one each), but one waits on a busy GPU."""
    busy = 0
    for record in records:
        ended = {run["prompt_id"]: run["ended_at"] for run in record["executions"]}
        held = sorted(
            (prompt["received_at"], ended[prompt["prompt_id"]])
            for prompt in record["prompts"]
            if prompt["prompt_id"] in ended
        )
        latest_end = 0.0
        for arrived, end in held:
            busy += arrived < latest_end
            latest_end = max(latest_end, end)
    return busy


def double_claims(records: list[dict[str, Any]], recorded: set[int]) -> int:
    """Jobs a fake received more than once, and jobs with attempts > 1 with no failure recorded: neither by
    a fake (an error, a refusal) nor by the app (`recorded`: jobs seen queued again with an error)."""
    received: collections.Counter[int] = collections.Counter()
    failed: set[int] = set(recorded)
    # Per job, each prompt received: (when, which server, how its run there ended), to tell a move from a race.
    trail: dict[int, list[tuple[float, int, str]]] = collections.defaultdict(list)
    for server, record in enumerate(records):
        jobs = {}
        outcomes = {run["prompt_id"]: run["outcome"] for run in record["executions"]}
        for prompt in record["prompts"]:
            job_id = (prompt.get("extra_data") or {}).get("storycanvas_job")
            if isinstance(job_id, int):
                received[job_id] += 1
                jobs[prompt["prompt_id"]] = job_id
                trail[job_id].append((prompt["received_at"], server, outcomes.get(prompt["prompt_id"], "never ran")))
                if not prompt.get("accepted"):
                    failed.add(job_id)
        failed |= {jobs[run["prompt_id"]] for run in record["executions"] if run["outcome"] != "success"}
    twice = {job_id for job_id, count in received.items() if count > 1}
    for job_id in sorted(twice)[:5]:
        sends = sorted(trail[job_id])
        shown = ", ".join(f"+{at - sends[0][0]:.1f} s on server {server}: {outcome}" for at, server, outcome in sends)
        note(f"job {job_id} sent {len(sends)} times: {shown}")
    with session_scope() as session:
        retried = set(
            session.execute(
                select(col(GenerationJob.id))
                .where(col(GenerationJob.attempts) > 1)
                .where(col(GenerationJob.status) != "failed")
            ).scalars()
        )
    unexplained = {job_id for job_id in retried if job_id is not None} - failed
    note(
        f"{sum(received.values())} prompts for {len(received)} jobs; sent twice: {sorted(twice)[:20]}; "
        f"attempts > 1 with no failure: {sorted(unexplained)[:20]}"
    )
    return len(twice | unexplained)


def show_logs(data: Path) -> None:
    for path in sorted(data.glob("app-*.log")):
        lines = path.read_text(errors="replace").splitlines()[-15:]
        print(f"--- {path.name}\n" + "\n".join(lines), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://127.0.0.1:5432/test", help="any database there")
    args = parser.parse_args(argv)
    # Ctrl-C and SIGTERM both end in the cleanup below (a shell may start the bench with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data = Path(tempfile.mkdtemp(prefix="storycanvas-bench-scale-"))
    name, url = pg_database(args.database_url, prefix="storycanvas_scale")
    env = server_env(data)
    env["DATABASE_URL"] = url
    env["STORYCANVAS_RUN_DISPATCHER"] = "1"
    os.environ.update(env)
    importlib.import_module("app.config")  # the settings hand the data layer its database, named above

    fakes: list[subprocess.Popen[str]] = []
    apps: list[subprocess.Popen[bytes]] = []
    watch: Watch | None = None
    probe: FakeProbe | None = None
    try:
        started = time.monotonic()
        seeded = seed()
        insert_jobs(seeded.admin, seeded.project, seeded.clip, range(DEEP_QUEUE))
        note(f"{DEEP_QUEUE} jobs queued in {time.monotonic() - started:.0f} s (with the seeding)")
        urls: list[str] = []
        for _ in range(FAKE_PROCESSES):
            process, some = start_fakes(FAKES_PER_PROCESS, DEEP_JOB_S, (CHECKPOINT,))
            fakes.append(process)
            urls += some
        bases = []
        for index in range(APPS):
            port = free_port()
            # Each process its own worker id, as the README asks of several processes on one database.
            own = {**env, "NICEGUI_STORAGE_PATH": str(data / f"nicegui-storage-{index}")}
            own["STORYCANVAS_WORKER_ID"] = f"scale-{index}"
            apps.append(start_server(data, port, env=own, log=data / f"app-{index}.log"))
            bases.append(f"http://127.0.0.1:{port}")
        admin = token(bases[0], ADMIN)
        register_servers(bases[0], admin, urls)
        wait_online()
        note(f"{APPS} apps and {SERVERS} servers online after {time.monotonic() - started:.0f} s")
        watch = Watch()
        watch.start()
        probe = FakeProbe(urls)
        probe.start()

        note_load("at the start of the deep phase")
        deep_phase(bases, admin)
        drain(timeout=60)
        note_load("at the start of the throughput phase")
        throughput_phase(seeded, urls, apps)
        note_load("at the start of the fair phase")
        fair_phase(seeded, bases[1], urls)
        drain(timeout=60)
        note_load("at the end")
        watch.stop()
        probe.stop()
        records = logs(urls)
        note(f"prompts sent to a server still busy with another: {sent_to_busy_servers(records)}")
        print(f"double_claims: {double_claims(records, watch.failed_jobs)}", flush=True)
        print(f"degraded_servers: {len(watch.not_online)}", flush=True)
        note(f"done in {time.monotonic() - started:.0f} s")
    except BaseException:
        show_logs(data)
        raise
    finally:
        for thread in (watch, probe):
            if thread is not None and thread.is_alive():
                thread.stop()
        for app_process in apps:
            stop(app_process)
        stop_fakes(fakes)
        dispose_engine()
        drop_pg_database(args.database_url, name)
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
