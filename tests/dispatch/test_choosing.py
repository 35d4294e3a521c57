"""Which waiting job a free server slot takes: priority, fair shares, checkpoint affinity, capabilities."""

from __future__ import annotations

from app.dispatch.claims import Candidate, Slot, choose


def job(
    job_id: int,
    *,
    owner: int = 1,
    priority: int = 0,
    checkpoint: str | None = None,
    nodes: list[str] | None = None,
    models: list[dict[str, str]] | None = None,
) -> Candidate:
    return Candidate(job_id, priority, owner, 1, checkpoint, models or [], nodes or ["SaveImage"])


def slot(
    checkpoint: str | None = None, *, node_types: set[str] | None = None, models: dict[str, set[str]] | None = None
) -> Slot:
    return Slot(server_id=1, name="gpu", free=1, checkpoint=checkpoint, node_types=node_types or set(), models=models)


def test_higher_priority_wins_over_a_loaded_checkpoint() -> None:
    queue = [job(1, priority=5, checkpoint="a"), job(2, checkpoint="b")]
    assert choose(slot("b"), queue, {}, {}, {}).id == 1


def test_within_a_priority_the_server_keeps_its_loaded_checkpoint() -> None:
    queue = [job(1, checkpoint="a"), job(2, checkpoint="b"), job(3, checkpoint="a")]
    assert choose(slot("b"), queue, {}, {}, {}).id == 2
    assert choose(slot("a"), queue, {}, {}, {}).id == 1


def test_a_user_with_fewer_running_jobs_goes_first() -> None:
    """One user's big batch does not hold another user's single clip."""
    queue = [job(1, owner=7), job(2, owner=7), job(3, owner=8)]
    assert choose(slot(), queue, {7: 2, 8: 0}, {}, {}).id == 3
    assert choose(slot(), queue, {7: 0, 8: 0}, {}, {}).id == 1  # equal shares: the oldest


def test_a_switching_server_takes_the_model_with_most_work_per_server_on_it() -> None:
    queue = [job(1, checkpoint="a"), job(2, checkpoint="a"), job(3, checkpoint="a"), job(4, checkpoint="b")]
    assert choose(slot(), queue, {}, {}, {}).checkpoint == "a"
    # Three servers already on "a": the fourth is better spent on "b".
    assert choose(slot(), queue, {}, {}, {}, serving={"a": 3}).checkpoint == "b"


def test_only_servers_with_the_jobs_nodes_and_models_take_it() -> None:
    needs = [{"kind": "checkpoint", "file_name": "rare.safetensors"}]
    queue = [job(1, nodes=["ReActorFaceSwap", "SaveImage"]), job(2, models=needs)]
    plain = slot(node_types={"SaveImage", "LoadImage"}, models={"checkpoint": {"common.safetensors"}})
    assert choose(plain, queue, {}, {}, {}) is None
    stocked = slot(node_types={"SaveImage"}, models={"checkpoint": {"rare.safetensors"}})
    assert choose(stocked, queue, {}, {}, {}).id == 2
    unknown = slot(models=None)  # catalog never read: anything goes
    assert choose(unknown, queue, {}, {}, {}).id == 1


def test_a_retry_avoids_the_server_that_failed_it_while_another_can_run_it() -> None:
    queue = [job(1), job(2)]
    assert choose(slot(), queue, {}, {1: 1}, {1: True}).id == 2
    assert choose(slot(), queue, {}, {1: 1}, {1: False}).id == 1  # nobody else can: try again here
