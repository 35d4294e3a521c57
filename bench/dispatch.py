"""How well the dispatcher keeps a fleet of GPUs busy, measured by hand against fake ComfyUI servers.

Why: the GPUs are the studio's most expensive resource; the queue must never leave one idle
between jobs, and should not make a server swap checkpoints (seconds each) more than needed.

Each fake server runs as its own process (so its work is not counted as the dispatcher's CPU).
It prints:

    throughput_ratio: 400 jobs of 200 ms on 8 servers, ideal time (10 s) / measured time
    idle_gap_ms_median: per server, from one job's end to the next one's start (median over all)
    cpu_ms_per_job: the dispatcher process's own CPU time per job (the fakes run elsewhere)
    checkpoint_switches: 100 jobs over 3 checkpoints on 4 servers, model loads as dispatched
    round_robin_switches: the same jobs dealt round-robin, for comparison
    wake_ms: median over 10, a job queued by the generation service in a worker thread (as a REST
        route does) → its POST /prompt on an idle fake, with no timer tick in between
    back_online_s: a fake killed with SIGKILL and started again on its port just after a probe → the
        server online, with the scheduler's quick probe of offline servers as the only thing checking
    hung_move_s: a fake holding two of our prompts (one running, one waiting) is stopped with SIGSTOP
        (it accepts connections and answers nothing) → both jobs running on two idle fakes; the
        dispatcher ticks, probes and checks health at the scheduler's pace (aim: under 15)
    abandoned_reruns: the stopped fake is resumed (SIGCONT) once the moved jobs are done elsewhere;
        runs of the moved prompts there that started after it woke or went on to succeed (must be 0)

    .venv/bin/python bench/dispatch.py --wake       (only wake_ms and back_online_s)
    .venv/bin/python bench/dispatch.py --failover   (only hung_move_s and abandoned_reruns)

    .venv/bin/python bench/dispatch.py
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
_DATA = Path(tempfile.mkdtemp(prefix="storycanvas-bench-dispatch-"))
os.environ["STORYCANVAS_DATA_DIR"] = str(_DATA)
os.environ["STORYCANVAS_SECRET_KEY"] = "bench-secret"
os.environ.pop("DATABASE_URL", None)

import httpx  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import fake_servers  # noqa: E402
from fake_servers import graph, logs  # noqa: E402

CHECKPOINTS = ["alpha.safetensors", "beta.safetensors", "gamma.safetensors"]


def start_fake(job_seconds: float, port: int = 0) -> tuple[subprocess.Popen[str], str]:
    return fake_servers.start_fake(job_seconds, port, tuple(CHECKPOINTS))


def setup_database() -> tuple[int, int, int]:
    from app.services import clips, projects, scenes, users
    from data import migrate
    from data.engine import session_scope
    from data.models import ProjectCreate

    migrate.upgrade()
    with session_scope() as session:
        user = users.register(
            session, users.validate_registration("bench", "bench@example.com", "bench-pass-1"), admin=True, force=True
        )
        project = projects.create_project(session, user, ProjectCreate(name="Bench"))
        scene = scenes.create_scene(session, user, project.id, "Scene")
        clip = clips.create_clip(session, user, scene.id, start=0.0, duration=2.0)
        return user.id, project.id, clip.id  # type: ignore[return-value]


def register(urls: list[str]) -> list[int]:
    from data.engine import session_scope
    from data.models import ComfyServer

    ids = []
    with session_scope() as session:
        for index, url in enumerate(urls):
            server = ComfyServer(name=f"gpu-{index}", base_url=url, max_jobs=2, status="online")
            session.add(server)
            session.commit()
            ids.append(server.id)
    return ids


def retire(server_ids: list[int]) -> None:
    from data.engine import session_scope
    from data.models import ComfyServer

    with session_scope() as session:
        for server_id in server_ids:
            server = session.get(ComfyServer, server_id)
            server.enabled = False
            session.add(server)
        session.commit()


def queue_jobs(owner: int, project: int, clip: int, checkpoints: list[str | None], seed_base: int) -> list[int]:
    from data.engine import session_scope
    from data.models import GenerationJob

    ids = []
    with session_scope() as session:
        for index, checkpoint in enumerate(checkpoints):
            g = graph(seed_base + index, checkpoint)
            job = GenerationJob(
                kind="image",
                project_id=project,
                clip_id=clip,
                owner_id=owner,
                params={"seed": seed_base + index},
                resolved_graph=g,
                checkpoint=checkpoint,
                required_nodes=sorted({node["class_type"] for node in g.values()}),
            )
            session.add(job)
            session.flush()
            ids.append(job.id)
        session.commit()
    return ids


def finished(ids: list[int]) -> bool:
    from sqlmodel import col, func, select

    from data.engine import session_scope
    from data.models import GenerationJob

    with session_scope() as session:
        done = session.exec(
            select(func.count()).where(
                col(GenerationJob.id).in_(ids), col(GenerationJob.status).in_(("completed", "failed"))
            )
        ).one()
    return done == len(ids)


async def run_until(dispatcher, ids: list[int], timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    """The scheduler's 0.5 s tick; completions kick the dispatcher in between."""
    deadline = time.monotonic() + timeout
    while not finished(ids):
        if time.monotonic() > deadline:
            raise RuntimeError("jobs did not finish")
        await dispatcher.tick()
        await asyncio.sleep(0.5)


def loads_in_order(checkpoint_per_server: list[list[str | None]]) -> int:
    switches = 0
    for sequence in checkpoint_per_server:
        loaded = None
        for checkpoint in sequence:
            if checkpoint != loaded:
                switches += 1
                loaded = checkpoint
    return switches


async def main() -> None:
    from app.dispatch.dispatcher import Dispatcher

    owner, project, clip = setup_database()
    fakes = [start_fake(0.2) for _ in range(8)]
    urls = [url for _process, url in fakes]
    try:
        first = register(urls)
        dispatcher = Dispatcher(worker_id="bench")
        ids = queue_jobs(owner, project, clip, [None] * 400, seed_base=0)
        cpu_before = time.process_time()
        await run_until(dispatcher, ids)
        cpu_ms = (time.process_time() - cpu_before) * 1000
        records = logs(urls)
        executions = [run for log in records for run in log["executions"]]
        span = max(run["ended_at"] for run in executions) - min(run["started_at"] for run in executions)
        gaps = []
        for log in records:
            runs = sorted(log["executions"], key=lambda run: run["started_at"])
            gaps += [(b["started_at"] - a["ended_at"]) * 1000 for a, b in itertools.pairwise(runs)]
        print(f"throughput_ratio: {(400 / 8 * 0.2) / span:.3f}")
        if os.environ.get("BENCH_VERBOSE"):
            start = min(run["started_at"] for run in executions)
            for log in records:
                runs = log["executions"]
                busy = sum(run["ended_at"] - run["started_at"] for run in runs)
                print(
                    f"   {len(runs)} jobs, first {min(r['started_at'] for r in runs) - start:.2f} s, "
                    f"last {max(r['ended_at'] for r in runs) - start:.2f} s, busy {busy:.2f} s"
                )
            print(f"   gaps > 20 ms: {sum(gap > 20 for gap in gaps)}, total {sum(gaps) / 1000:.2f} s")
        print(f"idle_gap_ms_median: {statistics.median(gaps):.1f}")
        print(f"cpu_ms_per_job: {cpu_ms / 400:.2f}")
        await dispatcher.close()

        retire(first[4:])  # the second figure uses 4 servers
        for url in urls[:4]:
            httpx.post(f"{url}/__fake__/config", json={"job_seconds": 0.05}, timeout=10)
        before = [len(log["executions"]) for log in logs(urls[:4])]
        rng = random.Random(7)
        wanted = [rng.choice(CHECKPOINTS) for _ in range(100)]
        dispatcher = Dispatcher(worker_id="bench-affinity")
        ids = queue_jobs(owner, project, clip, wanted, seed_base=10_000)  # type: ignore[arg-type]
        await run_until(dispatcher, ids)
        await dispatcher.close()
        per_server = []
        for log, skip in zip(logs(urls[:4]), before, strict=True):
            by_prompt = {p["prompt_id"]: p["graph"] for p in log["prompts"]}
            sequence = []
            for run in sorted(log["executions"][skip:], key=lambda run: run["started_at"]):
                node = by_prompt.get(run["prompt_id"], {}).get("1", {})
                sequence.append(node.get("inputs", {}).get("ckpt_name"))
            per_server.append(sequence)
        print(f"checkpoint_switches: {loads_in_order(per_server)}")
        if os.environ.get("BENCH_VERBOSE"):
            for sequence in per_server:
                print("  ", "".join((c or "-")[0] for c in sequence))
        print(f"round_robin_switches: {loads_in_order([wanted[i::4] for i in range(4)])}")
        retire(first)
        print(f"wake_ms: {await wake_ms(owner, clip):.1f}")
        print(f"back_online_s: {await back_online_s():.2f}")
        moved_s, reruns = await hung_failover(owner, project, clip)
        print(f"hung_move_s: {moved_s:.2f}")
        print(f"abandoned_reruns: {reruns}")
    finally:
        for process, _url in fakes:
            process.terminate()
        for process, _url in fakes:
            process.wait(timeout=10)


async def wake_ms(owner: int, clip: int) -> float:
    """Median time from queueing in a worker thread to the prompt's arrival, with the dispatcher idle."""
    from app.dispatch import dispatcher as dispatch
    from app.services import generation, workflows
    from data.engine import session_scope
    from data.models import User

    process, url = start_fake(0.05)
    try:
        register([url])
        with session_scope() as session:
            workflows.ensure_builtin_workflows(session)
        dispatcher = dispatch.Dispatcher(worker_id="bench-wake")
        dispatch.install(dispatcher)
        await dispatcher.tick()  # idle, on this loop; no timer runs from here on
        times = []
        for attempt in range(10):

            def queue(seed: int = attempt) -> None:
                with session_scope() as session:
                    user = session.get(User, owner)
                    request = generation.parse_request(mode="image", checkpoint=CHECKPOINTS[0], seed=seed)
                    generation.create_generation(session, user, clip, request)

            before = len(logs([url])[0]["prompts"])
            started = time.time()
            await asyncio.to_thread(queue)
            while True:
                prompts = logs([url])[0]["prompts"]
                if len(prompts) > before:
                    times.append((prompts[-1]["received_at"] - started) * 1000)
                    break
                if time.time() - started > 10:
                    times.append(10_000.0)
                    break
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.2)  # the job finishes; the dispatcher is idle again
        dispatch.install(None)
        await dispatcher.close()
        return statistics.median(times)
    finally:
        process.terminate()
        process.wait(timeout=10)


async def back_online_s() -> float:
    """A killed server started again: how long until the quick probe finds it online."""
    import socket

    from app.config import get_settings
    from app.dispatch import scheduler
    from data.engine import session_scope
    from data.models import ComfyServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process, url = start_fake(0.05, port)
    (server_id,) = register([url])
    process.kill()
    process.wait(timeout=10)
    await scheduler.health()

    def status() -> str:
        with session_scope() as session:
            return session.get(ComfyServer, server_id).status  # type: ignore[union-attr]  # the row exists

    assert status() == "offline", status()
    interval = get_settings().offline_probe_seconds
    process, url = start_fake(0.05, port)  # just after a probe: the worst moment to come back
    started = time.monotonic()
    try:
        while status() != "online":
            await asyncio.sleep(interval)
            await scheduler.probe_offline()  # as the scheduler does every offline_probe_seconds
        return time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


def retire_all() -> None:
    from sqlmodel import select

    from data.engine import session_scope
    from data.models import ComfyServer

    with session_scope() as session:
        retire([server_id for server_id in session.exec(select(ComfyServer.id)) if server_id is not None])


def job_rows(ids: list[int]) -> dict[int, tuple[str, int | None, str | None]]:
    from data.engine import session_scope
    from data.models import GenerationJob

    with session_scope() as session:
        rows = {job_id: session.get(GenerationJob, job_id) for job_id in ids}
        return {job_id: (row.status, row.server_id, row.remote_prompt_id) for job_id, row in rows.items() if row}


def abandoned_left() -> int:
    from sqlmodel import func, select

    from data.engine import session_scope
    from data.models import AbandonedPrompt

    with session_scope() as session:
        return session.exec(select(func.count()).select_from(AbandonedPrompt)).one()


def held_there(url: str, prompt_ids: set[str | None]) -> set[str]:
    """Which of these prompts the server has in its queue, running or waiting."""
    queue = httpx.get(f"{url}/queue", timeout=30).json()
    items = queue.get("queue_running", []) + queue.get("queue_pending", [])
    return {item[1] for item in items if item[1] in prompt_ids}


async def like_the_scheduler(dispatcher, stop: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    """The dispatcher's tick every 0.5 s, the offline probe every 3 s and the health check every 30 s."""
    from app.config import get_settings
    from app.dispatch import scheduler

    settings = get_settings()

    async def every(seconds: float, job) -> None:  # type: ignore[no-untyped-def]
        while not stop.is_set():
            await job()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    await asyncio.gather(
        every(settings.dispatch_tick_seconds, dispatcher.tick),
        every(settings.offline_probe_seconds, scheduler.probe_offline),
        every(settings.health_interval_seconds, scheduler.health),
    )


async def hung_failover(owner: int, project: int, clip: int) -> tuple[float, int]:
    """SIGSTOP a fake holding two of our prompts: how soon do they run elsewhere, and does it run them again
    when it wakes? Jobs of 8 s (two nodes of 4 s): the running prompt is stopped in its first node, so when
    the fake wakes its second node still has 4 s to go (the time a real GPU would still need)."""
    from app.dispatch.dispatcher import Dispatcher

    hung_process, hung_url = start_fake(8.0)
    spares = [start_fake(8.0) for _ in range(2)]
    processes = [hung_process, *(process for process, _url in spares)]
    stop = asyncio.Event()
    scheduler_task: asyncio.Task[None] | None = None
    dispatcher = Dispatcher(worker_id="bench-failover")
    try:
        retire_all()  # servers of the figures before (their fakes are gone)
        (hung_id,) = register([hung_url])
        ids = queue_jobs(owner, project, clip, [None, None], seed_base=20_000)
        scheduler_task = asyncio.ensure_future(like_the_scheduler(dispatcher, stop))
        deadline = time.monotonic() + 30
        while True:  # one running there, the other waiting behind it
            rows = job_rows(ids)
            if sorted(status for status, _server, _prompt in rows.values()) == ["dispatched", "running"]:
                pending = logs([hung_url])[0]["prompts"]
                if len(pending) == 2:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the jobs did not reach the first fake: {rows}")
            await asyncio.sleep(0.05)
        left = {rows[job_id][2] for job_id in ids}
        register([url for _process, url in spares])
        hung_process.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        moved_s = None
        deadline = stopped + 60
        while moved_s is None:
            rows = job_rows(ids)
            if all(status in ("running", "completed") and server != hung_id for status, server, _ in rows.values()):
                moved_s = time.monotonic() - stopped
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the jobs did not move: {rows}")
            await asyncio.sleep(0.05)
        while not all(status == "completed" for status, _server, _prompt in job_rows(ids).values()):
            if time.monotonic() > deadline:
                raise RuntimeError("the moved jobs did not finish")
            await asyncio.sleep(0.1)
        woke_at = time.time()
        hung_process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 30
        while abandoned_left() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        held = held_there(hung_url, left)
        deadline = time.monotonic() + 40
        while held and time.monotonic() < deadline:  # whatever of ours it still holds runs to its end
            await asyncio.sleep(0.2)
            held = held_there(hung_url, left)
        await asyncio.sleep(0.5)
        log = logs([hung_url])[0]
        runs = [run for run in log["executions"] if run["prompt_id"] in left]
        reruns = sum(1 for run in runs if run["started_at"] >= woke_at or run["outcome"] == "success") + len(held)
        total = sum(len(entry["executions"]) for entry in logs([hung_url, *(url for _p, url in spares)]))
        seen = [(run["outcome"], round(run["started_at"] - woke_at, 2)) for run in runs]
        print(
            f"   hung fake: runs of moved prompts (outcome, start after waking) {seen}, "
            f"deletes {[entry['deleted'] for entry in log['queue_deletes']]}, interrupts "
            f"{[(entry['prompt_id'] in left, entry['applied']) for entry in log['interrupts']]}, "
            f"abandoned left {abandoned_left()}, executions on all fakes {total} for 2 jobs",
            file=sys.stderr,
        )
        return moved_s, reruns
    finally:
        stop.set()
        if scheduler_task is not None:
            await scheduler_task
        await dispatcher.close()
        for process in processes:
            process.send_signal(signal.SIGCONT)
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


async def failover_only() -> None:
    owner, project, clip = setup_database()
    moved_s, reruns = await hung_failover(owner, project, clip)
    print(f"hung_move_s: {moved_s:.2f}")
    print(f"abandoned_reruns: {reruns}")


async def wake_and_recovery() -> None:
    owner, _project, clip = setup_database()
    print(f"wake_ms: {await wake_ms(owner, clip):.1f}")
    print(f"back_online_s: {await back_online_s():.2f}")


if __name__ == "__main__":
    if "--wake" in sys.argv:  # only the wake-up and recovery figures
        asyncio.run(wake_and_recovery())
    elif "--failover" in sys.argv:  # only the hung-server figures
        asyncio.run(failover_only())
    else:
        asyncio.run(main())
