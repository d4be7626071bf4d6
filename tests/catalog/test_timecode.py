"""SMPTE timecode: parsing, validation, frame counts (NDF and DF), arithmetic."""

from __future__ import annotations

import pickle
from fractions import Fraction

import pytest

from formats.timecode import (
    FRAME_RATES,
    Timecode,
    TimecodeError,
    add_duration,
    format_timecode,
    frame_rate,
    frames_to_timecode,
    parse_timecode,
    timecode_to_frames,
)


@pytest.mark.parametrize(
    ("text", "rate", "frames"),
    [
        ("00:00:00:00", "25", 0),
        ("00:00:01:00", "25", 25),
        ("01:00:00:00", "24", 86400),
        ("01:00:00:00", "23.976", 86400),  # 23.976 counts 24 labels a second
        ("10:00:00:00", "25", 900000),
        ("23:59:59:24", "25", 25 * 86400 - 1),
        ("00:00:01:00", "48", 48),
        ("00:00:01:00", "50", 50),
        ("00:00:01:00", "60", 60),
        ("00:01:00:00", "29.97", 1800),  # NDF: no labels skipped
        ("00:01:00:00", "59.94", 3600),
        # 29.97 DF: labels ;00 and ;01 are skipped at each minute except every tenth
        ("00:00:59;29", "29.97", 1799),
        ("00:01:00;02", "29.97", 1800),
        ("00:02:00;02", "29.97", 3598),
        ("00:10:00;00", "29.97", 17982),
        ("01:00:00;00", "29.97", 107892),
        # 59.94 DF skips four labels
        ("00:01:00;04", "59.94", 3600),
        ("00:10:00;00", "59.94", 35964),
    ],
)
def test_timecode_to_frames_and_back(text: str, rate: str, frames: int) -> None:
    assert timecode_to_frames(text, rate) == frames
    assert frames_to_timecode(frames, parse_timecode(text, rate).rate) == text
    assert format_timecode(frames, parse_timecode(text, rate).rate) == text


def test_drop_frame_marked_in_text_or_rate() -> None:
    assert parse_timecode("00:01:00;02", "29.97").rate.drop_frame is True
    assert parse_timecode("00;01;00;02", "29.97").rate.drop_frame is True
    # A DF rate keeps DF even when the text only uses colons (ALEs do this).
    tc = parse_timecode("00:01:00:02", "29.97DF")
    assert tc.rate.drop_frame is True
    assert tc.to_frames() == 1800
    assert str(tc) == "00:01:00;02"
    assert parse_timecode("00:01:00:00", "29.97").rate.drop_frame is False


@pytest.mark.parametrize("key", ["29.97DF", "59.94DF", "29.97", "23.976", "25", "60"])
def test_every_frame_round_trips_over_a_day(key: str) -> None:
    rate = FRAME_RATES[key]
    previous = None
    # Every 211th frame plus the frames around every minute boundary.
    frames = set(range(0, rate.frames_per_day, 211))
    per_minute = rate.nominal * 60 - rate.frames_dropped_per_minute
    for boundary in range(0, rate.frames_per_day, per_minute):
        frames.update(f for f in range(boundary - 3, boundary + 5) if 0 <= f < rate.frames_per_day)
    for n in sorted(frames):
        tc = Timecode.from_frames(n, rate)
        assert tc.to_frames() == n
        assert Timecode.parse(str(tc), rate) == tc
        if previous is not None and previous[0] == n - 1:
            assert previous[1].add(1) == tc
        previous = (n, tc)


def test_frames_per_day() -> None:
    assert FRAME_RATES["25"].frames_per_day == 2_160_000
    assert FRAME_RATES["23.976"].frames_per_day == 24 * 86400
    assert FRAME_RATES["29.97DF"].frames_per_day == 2_589_408
    assert FRAME_RATES["59.94DF"].frames_per_day == 2 * 2_589_408
    assert Timecode.from_frames(2_589_407, "29.97DF").__str__() == "23:59:59;29"


@pytest.mark.parametrize(
    ("text", "rate", "message"),
    [
        ("25:00:00:00", "25", "'25:00:00:00' is not a valid timecode: hours must be < 24"),
        ("24:00:00:00", "24", "'24:00:00:00' is not a valid timecode: hours must be < 24"),
        ("00:60:00:00", "25", "'00:60:00:00' is not a valid timecode: minutes must be < 60"),
        ("00:00:60:00", "25", "'00:00:60:00' is not a valid timecode: seconds must be < 60"),
        ("00:00:00:25", "25", "'00:00:00:25' is not a valid timecode: frames must be < 25 at 25 fps"),
        ("00:00:00:24", "23.976", "frames must be < 24"),
        ("00:01:00;00", "29.97", "drop-frame timecode skips frames 00 to 01 at the start of minute 01"),
        ("00:01:00;03", "59.94", "skips frames 00 to 03"),
        ("00:00:00;00", "25", "';' marks drop-frame, which 25 fps does not have"),
        ("1:2:3:4", "25", "expected HH:MM:SS:FF"),
        ("01:00:00:00:00", "25", "expected HH:MM:SS:FF"),
        ("", "25", "expected HH:MM:SS:FF"),
        ("ab:cd:ef:gh", "25", "expected HH:MM:SS:FF"),
    ],
)
def test_invalid_timecodes_say_what_is_wrong(text: str, rate: str, message: str) -> None:
    with pytest.raises(TimecodeError) as caught:
        parse_timecode(text, rate)
    assert message in str(caught.value)


def test_tenth_minutes_keep_frames_zero_and_one() -> None:
    assert str(parse_timecode("00:10:00;00", "29.97")) == "00:10:00;00"
    assert str(parse_timecode("01:00:00;01", "29.97")) == "01:00:00;01"


def test_one_digit_hours_accepted() -> None:
    assert parse_timecode("0:00:00:00", "25").to_frames() == 0
    assert str(parse_timecode("9:00:00:01", "25")) == "09:00:00:01"


def test_constructor_validates() -> None:
    with pytest.raises(TimecodeError, match="hours must be < 24"):
        Timecode(24, 0, 0, 0, FRAME_RATES["25"])
    with pytest.raises(TimecodeError, match="must not be negative"):
        Timecode(0, 0, -1, 0, FRAME_RATES["25"])


def test_from_frames_range() -> None:
    with pytest.raises(TimecodeError, match="outside one day"):
        Timecode.from_frames(-1, "25")
    with pytest.raises(TimecodeError, match="outside one day"):
        Timecode.from_frames(2_160_000, "25")
    with pytest.raises(TimecodeError, match="expected an int"):
        Timecode.from_frames(1.5, "25")  # type: ignore[arg-type]


def test_add_duration() -> None:
    assert add_duration("10:00:00:00", 25, "25") == "10:00:01:00"
    assert add_duration("10:00:00:00", "00:01:00:00", "25") == "10:01:00:00"
    assert add_duration("10:00:00:00", -1, "25") == "09:59:59:24"
    # DF: one frame after ;29 at the end of minute 0 is ;02 of minute 1
    assert add_duration("00:00:59;29", 1, "29.97") == "00:01:00;02"
    assert add_duration("00:09:59;29", 1, "29.97") == "00:10:00;00"
    # Wraps at midnight like a camera clock...
    assert add_duration("23:59:59:24", 1, "25") == "00:00:00:00"
    assert add_duration("00:00:00:00", -1, "25") == "23:59:59:24"
    # ...unless told not to.
    with pytest.raises(TimecodeError, match="leaves the 24-hour day"):
        add_duration("23:59:59:24", 1, "25", wrap=False)
    tc = parse_timecode("01:00:00:00", "24")
    assert str(tc + 24) == "01:00:01:00"
    assert str(tc - 1) == "00:59:59:23"
    assert str(tc + parse_timecode("00:00:10:00", "24")) == "01:00:10:00"
    with pytest.raises(TimecodeError, match="cannot add a 25 fps timecode to a 24 fps"):
        tc.add(parse_timecode("00:00:10:00", "25"))
    with pytest.raises(TimecodeError, match="not a duration"):
        tc.add(True)
    with pytest.raises(TimecodeError, match="start timecode is at 24 fps"):
        add_duration(tc, 1, "25")


@pytest.mark.parametrize(
    ("value", "label", "drop_frame"),
    [
        ("23.976", "23.976", False),
        ("23.98", "23.976", False),
        (23.976, "23.976", False),
        (Fraction(24000, 1001), "23.976", False),
        ("24.00", "24", False),
        (24, "24", False),
        ("25p", "25", False),
        ("29.97", "29.97", False),
        ("29.97DF", "29.97", True),
        ("29.97 df", "29.97", True),
        ("29.97 NDF", "29.97", False),
        ("30000/1001", "29.97", False),
        ("30", "30", False),
        ("48", "48", False),
        ("50", "50", False),
        ("59.94DF", "59.94", True),
        ("60", "60", False),
    ],
)
def test_frame_rate_spellings(value: str | float | Fraction, label: str, drop_frame: bool) -> None:
    rate = frame_rate(value)
    assert rate.label == label
    assert rate.drop_frame is drop_frame


def test_frame_rate_rejects() -> None:
    for bad in ("17", "abc", "", "30/0"):
        with pytest.raises(TimecodeError):
            frame_rate(bad)
    with pytest.raises(TimecodeError, match="25 fps has no drop-frame"):
        frame_rate("25", drop_frame=True)
    with pytest.raises(TimecodeError):
        frame_rate(True)  # type: ignore[arg-type]


def test_rate_properties() -> None:
    assert FRAME_RATES["29.97"].seconds(30000) == 1001
    assert FRAME_RATES["29.97DF"].frames_dropped_per_minute == 2
    assert FRAME_RATES["59.94DF"].frames_dropped_per_minute == 4
    assert FRAME_RATES["29.97"].frames_dropped_per_minute == 0
    assert str(FRAME_RATES["29.97DF"]) == "29.97 DF"


def test_timecode_error_is_a_value_error_and_pickles() -> None:
    try:
        parse_timecode("25:00:00:00", "25")
    except ValueError as exc:
        assert str(pickle.loads(pickle.dumps(exc))) == str(exc)  # noqa: S301 - our own bytes
    else:
        pytest.fail("no error raised")
