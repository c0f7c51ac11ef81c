"""How the live page's resting-face calibration changes the labels on video, through the page's own path
(``fer.stream.LiveSession`` with the page's default settings and frame-rate bound, each frame arriving at
its timestamp, whatever the analysis costs here):

    .venv/bin/python tools/resting_face.py ../shared/samples

- the Hamilton clip: *Calibrate* (3 s, as on the page) is pressed once a face has been in view for the
  next 3 s; for the frames after the recording, the labels shown without and with the correction;
- a session built from the face-api photos of one woman: her neutral face for 3 s (pressed at the start),
  then each of her seven expressions for 2 s; the label shown most in each segment, without and with.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fer import stream  # noqa: E402
from fer.bench import VIDEO_SAMPLE, cpu_flags  # noqa: E402
from fer.emotions import EMOTIONS, canonical  # noqa: E402
from fer.pipeline import Analyzer  # noqa: E402
from fer.settings import Settings  # noqa: E402
from fer.stream import LiveSession, LiveSettings  # noqa: E402
from tests.conftest import FPS, face_clip  # noqa: E402

RECORD_S = 3.0  # what the page's Calibrate button records
Frames = list[tuple[float, np.ndarray]]  # (seconds from the start, RGB frame)


def shown(analyzer: Analyzer, frames: Frames, press: float | None = None) -> list[tuple]:
    """The faces the live page shows after each frame; ``press``: when Calibrate is pressed (None: never)."""
    clock = SimpleNamespace(now=0.0)
    with mock.patch.object(stream, "time", SimpleNamespace(monotonic=lambda: clock.now)):
        live, out = LiveSession(analyzer, LiveSettings(), max_fps=Settings().max_live_fps), []
        for t, frame in frames:
            clock.now = t
            if press is not None and t >= press:
                live.calibrate_resting(RECORD_S)
                press = None
            live.process(frame)
            out.append(live.snapshot().result.faces)
    return out


def largest(faces: tuple):
    return max(faces, key=lambda f: f.box[2] * f.box[3], default=None)


def video_frames(path: Path) -> Frames:
    with av.open(str(path)) as container:
        decoded = [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    return [(t - decoded[0][0], image) for t, image in decoded]


def session_frames(samples: Path, names: list[str], rest_s: float = RECORD_S, each_s: float = 2.0) -> tuple[Frames, list[tuple[str, float, float]]]:
    """faceapi_neutral.jpg for ``rest_s``, then each photo of ``names`` for ``each_s``; and the segments
    (expression, start, end)."""
    clips = [face_clip(samples / "faceapi_neutral.jpg", rest_s)] + [face_clip(samples / n, each_s) for n in names]
    images = [image for clip in clips for image in clip]
    starts = np.cumsum([0] + [len(c) for c in clips]) / FPS
    segments = [(canonical(n.removeprefix("faceapi_").removesuffix(".jpg")), starts[i + 1], starts[i + 2]) for i, n in enumerate(names)]
    return [(i / FPS, image) for i, image in enumerate(images)], segments


def segment_labels(frames: Frames, faces: list[tuple], segments: list) -> list[str | None]:
    """The label shown most over each segment's frames (the largest face; None when no face is shown)."""
    out = []
    for _, start, end in segments:
        labels = [largest(f).label for (t, _), f in zip(frames, faces) if start <= t < end and f and largest(f).label]
        out.append(Counter(labels).most_common(1)[0][0] if labels else None)
    return out


def press_time(frames: Frames, faces: list[tuple]) -> float:
    """The first moment from which a face is shown for the next RECORD_S seconds without a break."""
    times = [t for t, _ in frames]
    for i, t in enumerate(times):
        if all(faces[j] for j in range(i, len(times)) if times[j] <= t + RECORD_S) and times[-1] >= t + RECORD_S:
            return t
    raise SystemExit("no face stays in view for the calibration")


def counts(labels: list[str]) -> str:
    return ", ".join(f"{label} {n}" for label, n in Counter(labels).most_common())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("samples", type=Path)
    args = parser.parse_args()
    analyzer = Analyzer.default()
    print(f"CPU: {cpu_flags()}; fast mode, the live page's default settings\n")

    frames = video_frames(args.samples / VIDEO_SAMPLE)
    plain = shown(analyzer, frames)
    press = press_time(frames, plain)
    fixed = shown(analyzer, frames, press)
    after = [i for i, (t, _) in enumerate(frames) if t > press + RECORD_S]
    recorded = [largest(f).label for (t, _), f in zip(frames, plain) if press <= t <= press + RECORD_S and f]
    print(f"{VIDEO_SAMPLE}: {len(frames)} frames; Calibrate pressed at {press:.2f} s, recorded to {press + RECORD_S:.2f} s;")
    print(f"the recorded face read as: {counts(recorded)} (frames)\n")
    print(f"| after the recording ({frames[after[0]][0]:.2f}-{frames[after[-1]][0]:.2f} s) | face-frames | labels without | labels with | label changed | neutral without -> with |")
    print("|---|---|---|---|---|---|")
    for name, pick in (("largest face", lambda f: [largest(f)] if f else []), ("every face", list)):
        pairs = [(a.label, b.label) for i in after for a, b in zip(pick(plain[i]), pick(fixed[i])) if a.label]
        before, now = [a for a, _ in pairs], [b for _, b in pairs]
        changed = sum(a != b for a, b in pairs)
        print(f"| {name} | {len(pairs)} | {counts(before)} | {counts(now)} | {changed} ({changed / len(pairs):.0%}) | "
              f"{before.count('neutral')} -> {now.count('neutral')} |")

    names = sorted(p.name for p in args.samples.glob("faceapi_*.jpg"))
    frames, segments = session_frames(args.samples, names)
    without = segment_labels(frames, shown(analyzer, frames), segments)
    with_ = segment_labels(frames, shown(analyzer, frames, press=0.0), segments)
    print(f"\nA session of one woman: neutral {RECORD_S:g} s (Calibrate pressed at 0 s), then each expression 2 s")
    print("| segment | shown without | shown with |")
    print("|---|---|---|")
    for (expected, _, _), a, b in zip(segments, without, with_):
        print(f"| {expected} | {a}{' ✓' if a == expected else ''} | {b}{' ✓' if b == expected else ''} |")
    right = lambda labels: sum(label == s[0] for label, s in zip(labels, segments))  # noqa: E731
    print(f"| right | {right(without)} of {len(segments)} | {right(with_)} of {len(segments)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
