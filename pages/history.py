"""/history: every generation request with its settings, to find, compare, replay and export them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nicegui import events as ui_events
from nicegui import ui

from app.services import events, generation_history, job_views, projects
from components.address import keep_filters
from components.feedback import attempt, success
from components.frame import frame
from components.job_format import STATUS_LABELS
from components.live_updates import Coalesced
from components.service_call import call, read
from data.models import JOB_STATUSES, User
from data.words import counted

LIMIT = 500
EMPTY = "No generations yet. Open a clip on a scene and press Generate: every request lands here with its settings."
FILTERED_EMPTY = "No requests match these filters. Clear a filter to see more."
MODELS_EMPTY = "No model has been used yet. Generate an image or video and its checkpoint is counted here."

COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "label": "#", "field": "id", "align": "right", "sortable": True},
    {"name": "created", "label": "Requested (UTC)", "field": "created", "align": "left", "sortable": True},
    {"name": "status", "label": "Status", "field": "status", "align": "left", "sortable": True},
    {"name": "kind", "label": "Kind", "field": "kind", "align": "left"},
    {"name": "project", "label": "Project", "field": "project", "align": "left", "sortable": True},
    {"name": "clip", "label": "Clip", "field": "clip", "align": "left"},
    {"name": "checkpoint", "label": "Model", "field": "checkpoint", "align": "left", "sortable": True},
    {"name": "seed", "label": "Seed", "field": "seed", "align": "right"},
    {"name": "prompt", "label": "Prompt", "field": "prompt", "align": "left", "classes": "sc-history-prompt"},
    {"name": "duration", "label": "Run", "field": "duration", "align": "right", "sortable": True},
    {"name": "results", "label": "Results", "field": "results", "align": "right"},
    {"name": "actions", "label": "", "field": "id", "align": "right"},
]
MODEL_COLUMNS: list[dict[str, Any]] = [
    {"name": "checkpoint", "label": "Model", "field": "checkpoint", "align": "left", "sortable": True},
    {"name": "jobs", "label": "Requests", "field": "jobs", "align": "right", "sortable": True},
    {"name": "completed", "label": "Completed", "field": "completed", "align": "right", "sortable": True},
    {"name": "failed", "label": "Failed", "field": "failed", "align": "right", "sortable": True},
    {"name": "success", "label": "Success (of finished)", "field": "success", "align": "right"},
    {"name": "median", "label": "Median run", "field": "median", "align": "right", "sortable": True},
    {"name": "last_used", "label": "Last used (UTC)", "field": "last_used", "align": "left", "sortable": True},
]
REPLAY_SLOT = r"""
<q-td :props="props">
  <q-btn flat dense no-caps size="sm" icon="replay" label="Replay" :data-testid="'replay-' + props.row.id"
         @click.stop="$parent.$emit('replay', props.row.id)">
    <q-tooltip>Queue it again with the identical graph and seed</q-tooltip>
  </q-btn>
</q-td>
"""
# Checkboxes named by what they select (the clip's label is row data, bound as a value, never template source).
SELECT_SLOT = r"""
<q-td auto-width>
  <q-checkbox v-model="props.selected" dense
              :aria-label="'Select request ' + props.row.id + ' (' + props.row.clip + ')'" />
</q-td>
"""
SELECT_ALL_SLOT = r"""
<q-th auto-width>
  <q-checkbox v-model="props.selected" dense aria-label="Select every request on this page" />
</q-th>
"""
STATUS_SLOT = r"""
<q-td :props="props">
  <q-badge :color="props.row.status_color" :label="props.value" outline />
  <q-tooltip v-if="props.row.error" max-width="420px">{{ props.row.error }}</q-tooltip>
</q-td>
"""
STATUS_BADGES = {
    "queued": "grey-6",
    "dispatched": "blue-grey-4",
    "running": "primary",
    "completed": "positive",
    "failed": "negative",
    "cancelled": "grey-7",
}


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f} s" if value < 60 else f"{int(value // 60)} min {int(value % 60):02d} s"


def _row(entry: generation_history.HistoryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "created": _when(entry.created_at),
        "status": STATUS_LABELS.get(entry.status, entry.status),
        "status_color": STATUS_BADGES.get(entry.status, "grey"),
        "error": entry.error or "",
        "kind": entry.kind,
        "project": entry.project_name,
        "clip": entry.clip_label or "—",
        "checkpoint": entry.checkpoint or "—",
        "seed": entry.seed if entry.seed is not None else "",
        "prompt": job_views.shorten(entry.prompt, 90),
        "duration": _seconds(entry.duration_s),
        "results": len(entry.result_ids),
    }


def _day(text: str | None, *, end: bool) -> datetime | None:
    """A date picked in the filter bounds whole days in UTC: "to" includes its whole day."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day + timedelta(days=1) - timedelta(microseconds=1) if end else day


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


class HistoryBoard:
    """Filters, the request table with its actions, and the model statistics, refreshed on job events."""

    def __init__(self, user: User, project_id: int | None, clip_id: int | None, **shown: str | None) -> None:
        """`shown`: the other filters as the address gives them (checkpoint, status, since, until, text)."""
        self.user = user
        self.days = {"since": shown.get("since") or "", "until": shown.get("until") or ""}
        self.filters: dict[str, Any] = {
            "project_id": project_id,
            "clip_id": clip_id,
            "checkpoint": shown.get("checkpoint") or None,
            "status": shown.get("status") if shown.get("status") in JOB_STATUSES else None,
            "since": _day(self.days["since"], end=False),
            "until": _day(self.days["until"], end=True),
            "text": (shown.get("text") or "").strip() or None,
        }
        self.entries: list[generation_history.HistoryEntry] = []
        self._refresh_soon = Coalesced(self.refresh, delay=0.4, name="history refresh")
        self._build()
        self.refresh()
        events.jobs_changed.subscribe(lambda _project_id: self._refresh_soon.request())

    # --- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        project_options = {p.id: p.name for p in read(projects.list_projects, self.user, sort="name", archived="all")}
        models = read(generation_history.checkpoints_used, self.user)
        with ui.tabs().props("dense no-caps align=left inline-label").classes("sc-muted") as tabs:
            requests_tab = ui.tab("requests", "Requests", icon="history").props('data-testid="tab-requests"')
            models_tab = ui.tab("models", "Models", icon="insights").props('data-testid="tab-models"')
        with ui.tab_panels(tabs, value=requests_tab).classes("w-full bg-transparent").props("animated=false"):
            with ui.tab_panel(requests_tab).classes("p-0 gap-2"):
                self._build_requests(project_options, models)
            with ui.tab_panel(models_tab).classes("p-0 gap-2"):
                self._build_models()

    def _build_requests(self, project_options: dict[Any, str], models: list[str]) -> None:
        with ui.row().classes("w-full items-center gap-2"):
            ui.select(
                {0: "All projects", **project_options},
                value=self.filters["project_id"] if self.filters["project_id"] in project_options else 0,
                label="Project",
                on_change=lambda e: self._set(project_id=e.value or None),
            ).props('dense outlined options-dense data-testid="history-project"').classes("w-48")
            ui.number(
                "Clip id",
                value=self.filters["clip_id"],
                min=1,
                format="%d",
                on_change=lambda e: self._set(clip_id=int(e.value) if e.value else None),
            ).props('dense outlined clearable debounce=400 data-testid="history-clip"').classes("w-28")
            self.model_select = (
                ui.select(
                    {"": "All models", **{name: name for name in models}},
                    value=self.filters["checkpoint"] if self.filters["checkpoint"] in models else "",
                    label="Model",
                    on_change=lambda e: self._set(checkpoint=e.value or None),
                )
                .props('dense outlined options-dense data-testid="history-model"')
                .classes("w-56")
            )
            ui.select(
                {"": "Any status", **{s: STATUS_LABELS[s] for s in JOB_STATUSES}},
                value=self.filters["status"] or "",
                label="Status",
                on_change=lambda e: self._set(status=e.value or None),
            ).props('dense outlined options-dense data-testid="history-status"').classes("w-36")
            ui.input("From", value=self.days["since"], on_change=lambda e: self._set_day("since", e.value)).props(
                'dense outlined type=date stack-label data-testid="history-since"'
            ).classes("w-40")
            ui.input("To", value=self.days["until"], on_change=lambda e: self._set_day("until", e.value)).props(
                'dense outlined type=date stack-label data-testid="history-until"'
            ).classes("w-40")
            ui.input(
                "Search prompts, models, errors",
                value=self.filters["text"] or "",
                on_change=lambda e: self._set(text=(e.value or "").strip() or None),
            ).props('dense outlined clearable debounce=400 data-testid="history-search"').classes("w-64")
        with ui.row().classes("w-full items-center gap-2"):
            ui.button("Compare", icon="compare_arrows", on_click=self._compare).props(
                'flat dense no-caps data-testid="history-compare"'
            )
            ui.button("Export CSV", icon="download", on_click=lambda: self._export("csv")).props(
                'flat dense no-caps data-testid="history-export-csv"'
            )
            ui.button("Export JSON", icon="data_object", on_click=lambda: self._export("json")).props(
                'flat dense no-caps data-testid="history-export-json"'
            )
            ui.label("Tick two rows, then Compare.").classes("sc-muted text-xs")
            ui.space()
            self.summary = ui.label("").classes("sc-muted text-xs").props('data-testid="history-summary"')
        self.empty = ui.column().classes("sc-empty w-full items-center py-12 gap-2")
        with self.empty:
            ui.icon("history", size="40px").classes("sc-muted")
            self.empty_text = ui.label(EMPTY).props('data-testid="history-empty"')
        self.table = (
            ui.table(columns=COLUMNS, rows=[], row_key="id", selection="multiple", pagination=50)
            .props('dense flat bordered separator=horizontal data-testid="history-table"')
            .classes("w-full sc-history-table")
        )
        self.table.add_slot("body-cell-actions", REPLAY_SLOT)
        self.table.add_slot("body-cell-status", STATUS_SLOT)
        self.table.add_slot("body-selection", SELECT_SLOT)
        self.table.add_slot("header-selection", SELECT_ALL_SLOT)
        self.table.on("replay", self._replay)
        ui.add_css(
            ".sc-history-prompt{max-width:340px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
            ".sc-diff-row.sc-differs{background:color-mix(in srgb,var(--sc-warn-text) 16%,transparent)}"
            ".sc-diff-row>div{padding:2px 8px;word-break:break-word;font-size:12px}"
        )

    def _build_models(self) -> None:
        self.models_empty = ui.label(MODELS_EMPTY).classes("sc-muted py-8").props('data-testid="models-empty"')
        self.models_table = (
            ui.table(columns=MODEL_COLUMNS, rows=[], row_key="checkpoint", pagination=0)
            .props('dense flat bordered separator=horizontal data-testid="models-table"')
            .classes("w-full")
        )

    # --- data -------------------------------------------------------------------------------------

    def _set(self, **changes: Any) -> None:
        self.filters.update(changes)
        address = {**self.filters, **{name: self.days[name] for name in ("since", "until")}}
        keep_filters("/history", address)
        self.refresh()

    def _set_day(self, name: str, text: str | None) -> None:
        self.days[name] = (text or "") if _day(text, end=False) else ""
        self._set(**{name: _day(text, end=name == "until")})

    @property
    def _filtered(self) -> bool:
        return any(value is not None for value in self.filters.values())

    def _load(
        self,
    ) -> tuple[list[generation_history.HistoryEntry], int, list[generation_history.ModelUsage]]:
        entries = read(generation_history.history_entries, self.user, limit=LIMIT, **self.filters)
        total = read(generation_history.count_entries, self.user, **self.filters)
        usage = read(
            generation_history.model_usage,
            self.user,
            project_id=self.filters["project_id"],
            since=self.filters["since"],
            until=self.filters["until"],
        )
        return entries, total, usage

    def refresh(self) -> None:
        loaded = attempt(self._load)  # None after a notification: a date range the wrong way round, a project deleted…
        if loaded is None:
            return
        self.entries, total, usage = loaded
        self.table.rows = [_row(entry) for entry in self.entries]
        self.table.selected = [row for row in self.table.selected if row["id"] in {e.id for e in self.entries}]
        self.table.update()
        self.table.set_visibility(bool(self.entries))
        self.empty.set_visibility(not self.entries)
        self.empty_text.set_text(FILTERED_EMPTY if self._filtered else EMPTY)
        shown = len(self.entries)
        self.summary.set_text(
            f"Showing {shown:,} of {total:,} requests: filter to see the others"
            if total > shown
            else f"{counted(total, 'request', thousands=True)}"
        )
        self.models_table.rows = [
            {
                "checkpoint": u.checkpoint,
                "jobs": u.jobs,
                "completed": u.completed,
                "failed": u.failed,
                "success": f"{round(100 * u.completed / (u.completed + u.failed))} %"
                if u.completed + u.failed
                else "—",
                "median": _seconds(u.median_duration_s) or "—",
                "last_used": _when(u.last_used),
            }
            for u in usage
        ]
        self.models_table.update()
        self.models_table.set_visibility(bool(usage))
        self.models_empty.set_visibility(not usage)

    # --- actions ----------------------------------------------------------------------------------

    def _replay(self, event: ui_events.GenericEventArguments) -> None:
        job_id = int(event.args)

        made = call(generation_history.replay_job, self.user, job_id)
        view = call(job_views.job_view, self.user, made.id) if made else None  # type: ignore[arg-type]  # a stored row's id is never None
        if view is None:
            return
        new_id, position = view.id, view.queue_position
        place = f"#{position} in the queue" if position else "on its way to a server"
        success(f"Replayed job {job_id} as job {new_id}: {place}.")
        self.refresh()

    def _compare(self) -> None:
        chosen = sorted(row["id"] for row in self.table.selected)
        if len(chosen) != 2:
            ui.notify(f"Tick exactly two rows to compare ({len(chosen)} ticked).", type="warning", position="top")
            return
        a_id, b_id = chosen
        rows = call(generation_history.compare, self.user, a_id, b_id)
        if rows is None:
            return
        differing = sum(row.differs for row in rows)
        with ui.dialog() as dialog, ui.card().classes("min-w-[720px] max-w-[90vw] gap-2"):
            ui.label(f"Job {a_id} vs job {b_id}").classes("text-base font-medium")
            ui.label(
                f"{differing} setting{' differs' if differing == 1 else 's differ'}, highlighted."
                if differing
                else "Every setting is the same."
            ).classes("sc-muted text-xs").props('data-testid="compare-summary"')
            with ui.element("div").classes("w-full max-h-[65vh] overflow-auto"):
                with ui.grid(columns="160px 1fr 1fr").classes("w-full gap-0 sc-diff-row sc-muted text-xs"):
                    for title in ("Setting", f"#{a_id}", f"#{b_id}"):
                        ui.label(title).classes("font-medium")
                for row in rows:
                    line = ui.grid(columns="160px 1fr 1fr").classes(
                        "w-full gap-0 sc-diff-row sc-differs" if row.differs else "w-full gap-0 sc-diff-row"
                    )
                    # The parameter's name comes from the request's stored params: a value, never a props string.
                    line.props.update({"data-testid": f"diff-{row.param}", "data-differs": str(row.differs).lower()})
                    with line:
                        ui.label(row.param).classes("font-mono")
                        ui.label(_shown(row.a))
                        ui.label(_shown(row.b))
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=dialog.close).props("flat dense no-caps")
        dialog.open()

    def _export(self, kind: str) -> None:
        if not self.entries:
            ui.notify("Nothing to export: no request matches these filters.", type="warning", position="top")
            return
        if kind == "csv":
            body, media = generation_history.export_csv(self.entries), "text/csv"
        else:
            body, media = generation_history.export_json(self.entries), "application/json"
        ui.download.content(body.encode("utf-8"), f"generation-history.{kind}", media)


def page(
    user: User,
    project_id: int | None = None,
    clip_id: int | None = None,
    checkpoint: str | None = None,
    status: str | None = None,
    since: str | None = None,
    until: str | None = None,
    text: str | None = None,
) -> None:
    with frame("History", user):
        shown = {"checkpoint": checkpoint, "status": status, "since": since, "until": until, "text": text}
        HistoryBoard(user, project_id, clip_id, **shown)
