"""A graph the server refused (validation) is not offered Retry: the same job would be refused again."""

from __future__ import annotations

from sqlmodel import select

from app.services import jobs, notifications
from app.services.job_views import job_view
from components.job_list import row_buttons
from data.models import Notification

from .conftest import add_server, all_finished, drive, image_graph, job_states, make_job


async def test_a_refused_graph_fails_without_retry_while_a_failed_run_keeps_it(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.02, fail_next=1)  # the first prompt that runs fails in execution
    add_server(db, fake, "gpu-1")
    bad = image_graph(1)
    bad["1"]["inputs"]["width"] = -5  # refused at POST /prompt
    refused = make_job(db, owner, target, graph=bad)
    crashed = make_job(db, owner, target, seed=2, max_attempts=1)

    await drive(dispatcher, all_finished([refused.id, crashed.id]))

    states = job_states([refused.id, crashed.id])
    assert states[refused.id].status == "failed" and states[refused.id].can_retry is False
    assert states[crashed.id].status == "failed" and states[crashed.id].can_retry is True

    # The queue's row offers "Edit settings" instead of Retry; the REST view says so too.
    refused_view, crashed_view = job_view(db, owner, refused.id), job_view(db, owner, crashed.id)
    assert [b["action"] for b in row_buttons(refused_view)] == ["edit", "details", "delete"]
    assert "retry" in [b["action"] for b in row_buttons(crashed_view)]
    assert (refused_view.can_retry, crashed_view.can_retry) == (False, True)

    # The notices: Retry only on the one that can succeed.
    notifications.sweep(db)
    notices = {n.job_id: n for n in db.exec(select(Notification).where(Notification.kind == "job_failed")).all()}
    assert notifications.can_retry(notices[crashed.id]) and not notifications.can_retry(notices[refused.id])

    # "Retry failed" sends back only what can succeed; a deliberate retry of one job is still possible.
    assert jobs.retry_failed(db, owner) == 1
    db.expire_all()
    assert job_states([refused.id])[refused.id].status == "failed"
    again = jobs.retry_job(db, owner, refused.id)
    assert again.status == "queued" and again.can_retry is True  # from scratch: it may have been fixed meanwhile
