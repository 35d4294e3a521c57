from fractions import Fraction

import pytest

from data.errors import Invalid
from data.frames import (
    frame_rate,
    frames_to_seconds,
    parse_timecode,
    seconds_to_frames,
    supports_drop_frame,
    timecode,
    timecode_base,
)
from data.models import FRAME_RATES


def test_ntsc_rates_are_exact_fractions_and_the_rest_whole_numbers() -> None:
    assert frame_rate(23.976) == Fraction(24000, 1001)
    assert frame_rate(29.97) == Fraction(30000, 1001)
    assert frame_rate(59.94) == Fraction(60000, 1001)
    assert [frame_rate(fps) for fps in (24, 25, 30, 50, 60)] == [24, 25, 30, 50, 60]
    assert all(frame_rate(fps).denominator == 1 for fps in (24.0, 25.0, 30.0, 50.0, 60.0))
    assert [timecode_base(fps) for fps in (23.976, 29.97, 59.94, 25)] == [24, 30, 60, 25]
    with pytest.raises(Invalid):
        frame_rate(0)


def test_seconds_round_to_the_nearest_frame_on_the_exact_rate() -> None:
    assert seconds_to_frames(1.001, 23.976) == 24  # one NTSC second of film is 24 frames exactly
    assert seconds_to_frames(1.0, 23.976) == 24  # 23.976 frames, nearest is 24
    assert seconds_to_frames(0.02, 25) == 1  # 0.5 frame rounds up
    assert seconds_to_frames(0.0199, 25) == 0
    assert seconds_to_frames(3600, 29.97) == 107892
    assert frames_to_seconds(24, 23.976) == 1.001
    assert frames_to_seconds(30000, 29.97) == 1001.0
    assert frames_to_seconds(107892, 29.97) == 3599.9964  # an hour of drop-frame timecode is 3.6 ms short
    with pytest.raises(Invalid):
        seconds_to_frames(float("nan"), 24)


@pytest.mark.parametrize("fps", FRAME_RATES)
def test_frames_survive_a_round_trip_through_seconds_up_to_six_hours(fps: float) -> None:
    six_hours = seconds_to_frames(6 * 3600, fps)
    for frames in [*range(0, 5000), *range(six_hours - 5000, six_hours + 1)]:
        assert seconds_to_frames(frames_to_seconds(frames, fps), fps) == frames


def test_non_drop_timecode_counts_nominal_frames() -> None:
    assert timecode(0, 24) == "00:00:00:00"
    assert timecode(24 * 3661 + 5, 24) == "01:01:01:05"
    assert timecode(24, 23.976) == "00:00:01:00"  # base 24 although the rate is 23.976
    assert timecode(1800, 29.97) == "00:01:00:00"
    assert timecode(25 * 60 - 1, 25) == "00:00:59:24"


def test_drop_frame_timecode_skips_two_labels_a_minute_except_every_tenth() -> None:
    assert timecode(1799, 29.97, drop_frame=True) == "00:00:59;29"
    assert timecode(1800, 29.97, drop_frame=True) == "00:01:00;02"
    assert timecode(17982, 29.97, drop_frame=True) == "00:10:00;00"
    assert timecode(107892, 29.97, drop_frame=True) == "01:00:00;00"
    assert timecode(3600, 59.94, drop_frame=True) == "00:01:00;04"
    assert supports_drop_frame(29.97) and not supports_drop_frame(30) and not supports_drop_frame(23.976)
    with pytest.raises(Invalid) as error:
        timecode(10, 24, drop_frame=True)
    assert error.value.field == "drop_frame"


@pytest.mark.parametrize(("fps", "drop"), [(29.97, True), (59.94, True), (29.97, False), (23.976, False), (25, False)])
def test_timecode_parses_back_to_the_same_frame(fps: float, drop: bool) -> None:
    for frames in [*range(0, 40000, 7), 107892, 107891, 10 * 107892 + 1]:
        assert parse_timecode(timecode(frames, fps, drop), fps, drop) == frames


def test_a_semicolon_means_drop_frame_and_impossible_labels_are_refused() -> None:
    assert parse_timecode("00:01:00;02", 29.97) == 1800
    assert parse_timecode("00:01:00:02", 29.97) == 1802
    for bad in ("00:01:00;00", "00:01:00;01", "1:2:3", "00:60:00:00", "00:00:00:30", "abc"):
        with pytest.raises(Invalid) as error:
            parse_timecode(bad, 29.97)
        assert error.value.field == "timecode"
    assert parse_timecode("00:10:00;00", 29.97) == 17982  # every tenth minute keeps its labels
    with pytest.raises(Invalid):
        parse_timecode("00:00:01;00", 24)
