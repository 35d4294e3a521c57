"""The project timeline's layout arithmetic: blocks proportional to duration, never below their minimum."""

from __future__ import annotations

from app.services.project_track import ProjectTrack, TrackScene
from components.project_overview_track import BASE_WIDTH_PX, TIGHT_SCENE_PX, layout_track


def _track(scenes: int, seconds: float, target_seconds: float, fps: float = 24) -> ProjectTrack:
    frames = round(seconds * fps)
    return ProjectTrack(
        project_id=1,
        fps=fps,
        ruler="seconds",
        drop_frame=False,
        total_frames=scenes * frames,
        target_frames=round(target_seconds * fps),
        scenes=tuple(
            TrackScene(
                id=n + 1,
                position=n,
                name=f"Scene {n + 1}",
                start_frame=n * frames,
                duration_frames=frames,
                clips=(),
                overlaps=(),
                lanes=1,
            )
            for n in range(scenes)
        ),
    )


def test_many_scenes_that_all_reach_the_minimum_stay_at_the_minimum_and_scroll() -> None:
    # 50 one-minute scenes cannot share 900 px above the least width: each gets that width, not 240 px a second.
    layout = layout_track(_track(50, 60, target_seconds=60))
    widths = [segment.width for _scene, segment in layout.blocks]
    assert all(abs(width - TIGHT_SCENE_PX) < 0.01 for width in widths), widths[:3]
    assert BASE_WIDTH_PX < layout.width < 2 * BASE_WIDTH_PX


def test_few_scenes_share_the_width_in_proportion() -> None:
    layout = layout_track(_track(3, 10, target_seconds=30))
    widths = [segment.width for _scene, segment in layout.blocks]
    assert abs(sum(widths) - BASE_WIDTH_PX) < 0.5 and max(widths) - min(widths) < 0.01
