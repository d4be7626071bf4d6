"""SMPTE timecode: parse, format, convert to and from frame counts, add durations.

Pure Python, no Django. Supported rates: 23.976, 24, 25, 29.97 (drop-frame and
non-drop-frame), 30, 48, 50, 59.94 (drop-frame and non-drop-frame) and 60.

Terms used here:

- The *nominal* rate is the whole number of frames a timecode counts per
  second: 24 for 23.976, 30 for 29.97, 60 for 59.94. Timecode labels frames
  at the nominal rate; the real rate only matters for wall-clock durations.
- *Drop-frame* (DF) timecode skips frame *labels* (never frames) so that
  29.97/59.94 timecode stays close to the wall clock: labels ;00 and ;01 (;00
  to ;03 at 59.94) are skipped at the start of every minute except minutes
  divisible by ten. DF is written with a ``;`` before the frames
  (``01:00:00;00``); non-drop-frame (NDF) uses ``:`` throughout.

Timecode is a time of day: it runs from 00:00:00:00 up to, but not including,
24:00:00:00, and :meth:`Timecode.add` wraps around midnight like a camera's
clock does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "FRAME_RATES",
    "FrameRate",
    "Timecode",
    "TimecodeError",
    "add_duration",
    "format_timecode",
    "frame_rate",
    "frames_to_timecode",
    "parse_timecode",
    "timecode_to_frames",
]


class TimecodeError(ValueError):
    """A timecode or frame rate that cannot be used.

    The message names the offending text and what is wrong with it, e.g.
    ``'25:00:00:00' is not a valid timecode: hours must be < 24``.
    """


@dataclass(frozen=True)
class FrameRate:
    """A frame rate as timecode sees it.

    Attributes:
        label: How editors write the rate ("23.976", "29.97", "25").
        fps: The exact rate as a fraction (24000/1001 for 23.976).
        nominal: Frames per timecode second (24 for 23.976, 30 for 29.97).
        drop_frame: Whether timecodes at this rate use drop-frame labels.
    """

    label: str
    fps: Fraction
    nominal: int
    drop_frame: bool = False

    @property
    def frames_dropped_per_minute(self) -> int:
        """Labels skipped at each non-tenth minute: 2 at 29.97 DF, 4 at 59.94 DF, else 0."""
        # DF skips 2 labels per 30 nominal frames per second, so 59.94 skips 4.
        return self.nominal // 15 if self.drop_frame else 0

    @property
    def frames_per_day(self) -> int:
        """Number of distinct timecode labels in 24 hours at this rate."""
        minutes = 24 * 60
        dropped = self.frames_dropped_per_minute * (minutes - minutes // 10)
        return minutes * 60 * self.nominal - dropped

    def seconds(self, frames: int) -> Fraction:
        """Return the real (wall-clock) duration of ``frames`` frames in seconds."""
        return Fraction(frames) / self.fps

    def __str__(self) -> str:
        return f"{self.label} DF" if self.drop_frame else self.label


def _rate(label: str, fps: Fraction, nominal: int, *, drop_frame: bool = False) -> FrameRate:
    return FrameRate(label=label, fps=fps, nominal=nominal, drop_frame=drop_frame)


_NTSC = Fraction(1000, 1001)

#: Every supported rate, keyed by a canonical name (``"29.97DF"`` for drop-frame).
FRAME_RATES: dict[str, FrameRate] = {
    "23.976": _rate("23.976", 24 * _NTSC, 24),
    "24": _rate("24", Fraction(24), 24),
    "25": _rate("25", Fraction(25), 25),
    "29.97": _rate("29.97", 30 * _NTSC, 30),
    "29.97DF": _rate("29.97", 30 * _NTSC, 30, drop_frame=True),
    "30": _rate("30", Fraction(30), 30),
    "48": _rate("48", Fraction(48), 48),
    "50": _rate("50", Fraction(50), 50),
    "59.94": _rate("59.94", 60 * _NTSC, 60),
    "59.94DF": _rate("59.94", 60 * _NTSC, 60, drop_frame=True),
    "60": _rate("60", Fraction(60), 60),
}

# Spellings seen in ALEs, camera sidecars and NLE exports ("23.98", "24.00",
# "30000/1001") all resolve to one of the rates above by value.
_RATE_TEXT = re.compile(
    r"^\s*(?P<num>\d+(?:\.\d+)?)(?:\s*/\s*(?P<den>\d+))?\s*(?:fps|p)?\s*(?P<df>n?df)?\s*$", re.I
)


def frame_rate(value: FrameRate | str | float | Fraction, *, drop_frame: bool | None = None) -> FrameRate:
    """Resolve a rate given in any common spelling to a supported :class:`FrameRate`.

    Accepts a :class:`FrameRate`, a number (``25``, ``23.976``, ``Fraction(30000, 1001)``)
    or text (``"23.98"``, ``"24.00"``, ``"29.97DF"``, ``"59.94 NDF"``, ``"30000/1001"``,
    ``"25p"``). ``drop_frame`` overrides the DF flag; asking for drop-frame at a rate
    that has none (25, 24, ...) is an error.

    Returns:
        The matching entry of :data:`FRAME_RATES`.

    Raises:
        TimecodeError: if the value is not one of the supported rates.
    """
    if isinstance(value, FrameRate):
        base = value
    else:
        text_df: bool | None = None
        if isinstance(value, str):
            match = _RATE_TEXT.match(value)
            if not match:
                raise TimecodeError(f"{value!r} is not a frame rate: expected e.g. 25, 23.976, 29.97DF")
            number = Fraction(match["num"])
            if match["den"]:
                if int(match["den"]) == 0:
                    raise TimecodeError(f"{value!r} is not a frame rate: division by zero")
                number /= int(match["den"])
            if match["df"]:
                text_df = match["df"].lower() == "df"
        elif isinstance(value, bool):
            raise TimecodeError(f"{value!r} is not a frame rate")
        else:
            number = Fraction(value).limit_denominator(1001)
        base = _closest_rate(number, original=value)
        if text_df is not None:
            drop_frame = text_df if drop_frame is None else drop_frame
    if drop_frame is None or drop_frame == base.drop_frame:
        return base
    key = f"{base.label}DF" if drop_frame else base.label
    if key not in FRAME_RATES:
        raise TimecodeError(f"{base.label} fps has no drop-frame timecode (only 29.97 and 59.94 do)")
    return FRAME_RATES[key]


def _closest_rate(number: Fraction, *, original: object) -> FrameRate:
    # Files round NTSC rates in different ways (23.976, 23.98, 23.97602...), so
    # match within 0.01 fps; the supported rates are far further apart than that.
    for key, rate in FRAME_RATES.items():
        if not key.endswith("DF") and abs(rate.fps - number) < Fraction(1, 100):
            return rate
    supported = ", ".join(k for k in FRAME_RATES if not k.endswith("DF"))
    raise TimecodeError(f"{original!r} is not a supported frame rate (supported: {supported})")


# Separators: ":" throughout for NDF; ";" before the frames (some tools write ";"
# throughout, others "." or ",") for DF.
_TC_TEXT = re.compile(r"^\s*(\d{1,2})([:;])(\d{2})([:;])(\d{2})([:;.,])(\d{2})\s*$")


@dataclass(frozen=True)
class Timecode:
    """A validated SMPTE timecode at a known rate.

    Create one with :meth:`parse` or :meth:`from_frames`; the constructor checks
    the fields too, so an invalid label can never exist. ``str(tc)`` gives the
    canonical text (``;`` before the frames for drop-frame).
    """

    hours: int
    minutes: int
    seconds: int
    frames: int
    rate: FrameRate

    def __post_init__(self) -> None:
        problem = _field_problem(self.hours, self.minutes, self.seconds, self.frames, self.rate)
        if problem:
            raise TimecodeError(f"{self._text()!r} is not a valid timecode: {problem}")

    @classmethod
    def parse(cls, text: str, rate: FrameRate | str | float | Fraction) -> Timecode:
        """Parse ``HH:MM:SS:FF`` (NDF) or ``HH:MM:SS;FF`` (DF) at ``rate``.

        A ``;`` (or ``.``/``,``, which some tools write for DF) before the frames
        selects drop-frame when the rate allows it; a rate that is already DF stays
        DF even when the text uses ``:`` only, because many files (ALEs among them)
        do not mark DF in the text. One-digit hours (``0:00:00:00``) are accepted.

        Returns:
            The timecode, with ``rate`` resolved to a supported :class:`FrameRate`.

        Raises:
            TimecodeError: for malformed text, a field out of range (``25:00:00:00``
                says "hours must be < 24"), a frame label that drop-frame skips, or a
                DF separator at a rate that has no drop-frame.
        """
        match = _TC_TEXT.match(text) if isinstance(text, str) else None
        if not match:
            raise TimecodeError(f"{text!r} is not a valid timecode: expected HH:MM:SS:FF or HH:MM:SS;FF")
        base = frame_rate(rate)
        marks_df = ";" in (match[2], match[4]) or match[6] in ";.,"
        if marks_df and not base.drop_frame:
            try:
                base = frame_rate(base, drop_frame=True)
            except TimecodeError:
                raise TimecodeError(
                    f"{text!r} is not a valid timecode: ';' marks drop-frame, "
                    f"which {base.label} fps does not have"
                ) from None
        hours, minutes, seconds, frames = (int(match[i]) for i in (1, 3, 5, 7))
        problem = _field_problem(hours, minutes, seconds, frames, base)
        if problem:
            raise TimecodeError(f"{text.strip()!r} is not a valid timecode: {problem}")
        return cls(hours, minutes, seconds, frames, base)

    @classmethod
    def from_frames(cls, frames: int, rate: FrameRate | str | float | Fraction) -> Timecode:
        """Return the timecode that labels frame number ``frames`` counted from 00:00:00:00.

        Raises:
            TimecodeError: if ``frames`` is negative or not less than a day's worth
                (use :meth:`add` for arithmetic that wraps at midnight).
        """
        base = frame_rate(rate)
        if isinstance(frames, bool) or not isinstance(frames, int):
            raise TimecodeError(f"{frames!r} is not a frame count: expected an int")
        if not 0 <= frames < base.frames_per_day:
            raise TimecodeError(
                f"frame {frames} is outside one day of timecode at {base} fps "
                f"(0 to {base.frames_per_day - 1})"
            )
        label = frames
        drop = base.frames_dropped_per_minute
        if drop:
            # Re-insert the skipped labels: every full ten-minute block skips 9*drop,
            # and each minute after the first in a partial block skips drop more.
            per_minute = base.nominal * 60 - drop
            per_ten = base.nominal * 600 - 9 * drop
            tens, rest = divmod(frames, per_ten)
            label += 9 * drop * tens
            if rest >= drop:
                label += drop * ((rest - drop) // per_minute)
        frames_part = label % base.nominal
        total_seconds = label // base.nominal
        return cls(
            total_seconds // 3600,
            total_seconds // 60 % 60,
            total_seconds % 60,
            frames_part,
            base,
        )

    def to_frames(self) -> int:
        """Return the frame number of this label counted from 00:00:00:00 (DF-aware)."""
        total_minutes = self.hours * 60 + self.minutes
        label = (total_minutes * 60 + self.seconds) * self.rate.nominal + self.frames
        return label - self.rate.frames_dropped_per_minute * (total_minutes - total_minutes // 10)

    def add(self, duration: int | Timecode | str, *, wrap: bool = True) -> Timecode:
        """Return this timecode moved by ``duration``.

        ``duration`` is a frame count (may be negative), a :class:`Timecode` used as a
        duration, or duration text at this timecode's rate (``"00:00:10:00"``).
        With ``wrap`` (the default) the result wraps around midnight like a camera
        clock; with ``wrap=False`` leaving the day raises.

        Raises:
            TimecodeError: if the duration is malformed, is a Timecode at another rate,
                or (``wrap=False``) the result falls outside the day.
        """
        frames = _duration_frames(duration, self.rate)
        total = self.to_frames() + frames
        if not wrap and not 0 <= total < self.rate.frames_per_day:
            raise TimecodeError(f"{self} + {frames} frames leaves the 24-hour day at {self.rate} fps")
        return Timecode.from_frames(total % self.rate.frames_per_day, self.rate)

    def __add__(self, other: int | Timecode | str) -> Timecode:
        return self.add(other)

    def __sub__(self, other: int | Timecode | str) -> Timecode:
        return self.add(-_duration_frames(other, self.rate))

    def _text(self) -> str:
        sep = ";" if self.rate.drop_frame else ":"
        return f"{self.hours:02d}:{self.minutes:02d}:{self.seconds:02d}{sep}{self.frames:02d}"

    def __str__(self) -> str:
        return self._text()


def _field_problem(hours: int, minutes: int, seconds: int, frames: int, rate: FrameRate) -> str | None:
    if min(hours, minutes, seconds, frames) < 0:
        return "fields must not be negative"
    if hours >= 24:
        return "hours must be < 24"
    if minutes >= 60:
        return "minutes must be < 60"
    if seconds >= 60:
        return "seconds must be < 60"
    if frames >= rate.nominal:
        return f"frames must be < {rate.nominal} at {rate} fps"
    drop = rate.frames_dropped_per_minute
    if drop and seconds == 0 and minutes % 10 != 0 and frames < drop:
        return f"drop-frame timecode skips frames 00 to {drop - 1:02d} at the start of minute {minutes:02d}"
    return None


def _duration_frames(duration: int | Timecode | str, rate: FrameRate) -> int:
    if isinstance(duration, bool):
        raise TimecodeError(f"{duration!r} is not a duration")
    if isinstance(duration, int):
        return duration
    if isinstance(duration, Timecode):
        if duration.rate != rate:
            raise TimecodeError(f"cannot add a {duration.rate} fps timecode to a {rate} fps timecode")
        return duration.to_frames()
    if isinstance(duration, str):
        return Timecode.parse(duration, rate).to_frames()
    raise TimecodeError(f"{duration!r} is not a duration: expected frames (int) or a timecode")


def parse_timecode(text: str, rate: FrameRate | str | float | Fraction) -> Timecode:
    """Parse timecode text at ``rate``; see :meth:`Timecode.parse`.

    Returns:
        The validated :class:`Timecode`.
    """
    return Timecode.parse(text, rate)


def timecode_to_frames(text: str, rate: FrameRate | str | float | Fraction) -> int:
    """Return the frame number (from 00:00:00:00) of timecode ``text`` at ``rate``."""
    return Timecode.parse(text, rate).to_frames()


def frames_to_timecode(frames: int, rate: FrameRate | str | float | Fraction) -> str:
    """Return the canonical timecode text for frame number ``frames`` at ``rate``."""
    return str(Timecode.from_frames(frames, rate))


def format_timecode(frames: int, rate: FrameRate | str | float | Fraction) -> str:
    """Alias of :func:`frames_to_timecode` (returns ``HH:MM:SS:FF`` or ``HH:MM:SS;FF``)."""
    return frames_to_timecode(frames, rate)


def add_duration(
    start: str | Timecode,
    duration: int | str | Timecode,
    rate: FrameRate | str | float | Fraction,
    *,
    wrap: bool = True,
) -> str:
    """Return ``start`` + ``duration`` as canonical timecode text at ``rate``.

    ``duration`` is a frame count or duration timecode text (``"00:01:00:00"``).
    See :meth:`Timecode.add` for wrapping and errors.
    """
    if isinstance(start, Timecode):
        tc = start
        if tc.rate != frame_rate(rate, drop_frame=tc.rate.drop_frame):
            raise TimecodeError(f"start timecode is at {tc.rate} fps, not {rate} fps")
    else:
        tc = Timecode.parse(start, rate)
    return str(tc.add(duration, wrap=wrap))
