"""The command line, a thin layer over the library: parse, call, print."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys

from .batch import IMAGE_SUFFIXES
from .emotions import EMOTIONS
from .mood import rows_to_csv


class UserError(Exception):
    """A problem with the user's input: reported as one line on stderr, exit status 2."""


@contextlib.contextmanager
def _data_errors():
    """A missing or unreadable dataset is the user's problem to fix: one line, exit status 2."""
    try:
        yield
    except (FileNotFoundError, ValueError) as err:
        raise UserError(str(err)) from None


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter is noise on a command line; real errors still surface.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write(
    args, data, rows: list[dict] | None = None, text: str = "", percent: tuple[str, ...] = EMOTIONS, csv_rows: list[dict] | None = None
) -> None:
    """The one output writer of every command: ``--json`` prints ``data`` (one JSON document, or one per
    line when ``data`` is a list of documents and ``args.json_lines``); otherwise ``text`` then ``rows`` as an
    aligned table (columns named in ``percent`` as percentages). ``--csv FILE`` also writes ``csv_rows``
    (default: ``rows``)."""
    if getattr(args, "csv", None):
        with open(args.csv, "w", newline="") as out:
            out.write(rows_to_csv(csv_rows if csv_rows is not None else rows or []))
    if getattr(args, "json", False):
        docs = data if isinstance(data, list) and getattr(args, "json_lines", False) else [data]
        if docs:
            print("\n".join(json.dumps(d) for d in docs))
        return
    if text:
        print(text)
    if rows:
        print(table(rows, percent))


def table(rows: list[dict], percent: tuple[str, ...] = ()) -> str:
    """Rows as a plain aligned text table: numbers right-aligned, text left-aligned."""
    def cell(key, value):
        if isinstance(value, float):
            return f"{value:.1%}" if key in percent else f"{value:g}"
        return "-" if value is None else str(value)

    cells = [[cell(k, v) for k, v in row.items()] for row in rows]
    header = list(rows[0])
    numeric = [all(isinstance(row[h], (int, float)) or row[h] is None for row in rows) for h in header]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    return "\n".join(
        "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(line, widths, numeric)).rstrip()
        for line in [header, *cells]
    )


def _image_paths(patterns: list[str]) -> list[str]:
    """Files, folders (their images, sorted) and glob patterns, in the order given."""
    import glob
    from pathlib import Path

    paths = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            paths += sorted(str(p) for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif not path.exists() and glob.has_magic(pattern):
            matched = sorted(glob.glob(pattern, recursive=True))
            if not matched:
                raise UserError(f"{pattern}: no file matches")
            paths += matched
        else:
            paths.append(pattern)
    if not paths:
        raise UserError(f"{' '.join(patterns)}: no image found")
    return paths


def cmd_image(args) -> int:
    from .batch import face_rows
    from .imageio import ImageError, load_image
    from .pipeline import Analyzer
    from .render import UNSURE_BELOW, label_text

    analyzer = Analyzer.default(mode=args.mode)
    trace = {"mode": args.mode, "model": analyzer.classifier.version}
    docs, rows, shown, failed = [], [], [], 0
    for path in _image_paths(args.paths):
        try:
            result = analyzer(load_image(path))
        except ImageError as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            failed += 1
            continue
        docs.append({"file": path} | result.to_dict() | trace)
        face_table = face_rows(path, result)
        rows += face_table
        # The printed table marks an unsure label ("sad?"); the CSV and JSON keep the label itself.
        shown += [r | {"label": label_text(face, show_confidence=False)} for r, face in zip(face_table, result.faces)]
    if not docs:
        return 2
    faces = len(rows)
    summary = f"{len(docs)} image(s), {faces} face(s), {args.mode} mode, model {trace['model']}" + ("" if faces else ". No face found.")
    if any(r["label"].endswith("?") for r in shown):
        summary += f"\n? = unsure: confidence below {UNSURE_BELOW:.0%}, where the fast mode's label is right less than half the time"
    args.json_lines = True
    write(args, docs, shown, summary, csv_rows=[r | trace for r in rows])
    return 2 if failed else 0


def cmd_video(args) -> int:
    import av

    from .annotate import VideoAnnotator
    from .pipeline import Analyzer
    from .video import FaceLog, VideoError, analyze_video

    for output in (args.annotate, args.faces, args.csv):
        if output and os.path.realpath(output) == os.path.realpath(args.path):
            raise UserError(f"{output}: this would overwrite the video being read; choose another name")
    analyzer = Analyzer.default(args.mode)
    faces = FaceLog(args.path) if args.faces else None

    from tqdm import tqdm

    # A progress bar with the time left, on a terminal only (tqdm stays silent when stderr is piped).
    with tqdm(total=100, unit="%", desc=args.path.rsplit("/", 1)[-1][:30], disable=None, leave=False,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} elapsed, {remaining} left") as bar:
        def progress(done: float) -> None:
            bar.update(round(done * 100) - bar.n)

        # --annotate writes every frame at the source rate, each showing the last analysed frame's faces: a
        # smooth copy as long as the source. On the 9.2 s sample clip (two cores shared with other work, three
        # series of runs) it took 2.8-3.1x the time of the analysis alone; writing only the analysed frames
        # (5 a second, a jerky copy) took 1.5-2.4x.
        annotator = VideoAnnotator(args.annotate, args.bucket) if args.annotate else contextlib.nullcontext()
        try:
            with annotator as on_frame:
                fps, timeline = analyze_video(
                    args.path, analyzer, args.bucket, args.sample_fps, progress=progress,
                    on_frame=on_frame, every_frame=True, on_result=faces,
                )
        except VideoError as err:
            raise UserError(f"{args.path}: {err}") from None
        except (av.error.FFmpegError, OSError) as err:  # the annotated copy could not be written (e.g. disk full)
            raise UserError(f"{args.annotate}: cannot write the video ({getattr(err, 'strerror', None) or err})") from None
    timeline_rows = timeline.rows()
    rows = [{"t": r["t"], "faces": r["faces"]} | r["distribution"] for r in timeline_rows]
    data = {"fps": round(fps, 3), "timeline": [{k: r[k] for k in ("t", "faces", "distribution")} for r in timeline_rows]}
    text = f"{args.path}: {fps:.2f} fps, {len(rows)} bucket(s) of {args.bucket:g} s; share of faces per emotion"
    if args.annotate:
        text = f"wrote {args.annotate} ({annotator.frames} frames, {annotator.codec})\n{text}"
    if faces is not None:
        trace = {"mode": args.mode, "model": analyzer.classifier.version}
        with open(args.faces, "w", newline="") as out:
            out.write(rows_to_csv([r | trace for r in faces.rows]))
        text = f"wrote {args.faces} ({len(faces.rows)} face rows, {len(faces.tracks())} followed face(s))\n{text}"
    write(args, data, rows, text, csv_rows=timeline_rows)
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate

    with _data_errors():
        report = evaluate(args.data, split=args.split, mode=args.mode)
    write(args, report.to_dict(), text=report.table())
    return 0


def cmd_calibrate(args) -> int:
    from .evaluate import calibrate

    with _data_errors():
        summary = calibrate(args.data, split=args.split, model=args.model)
    rows = [
        {"setting": name, "temperature": t} | {k: summary[name][k] for k in ("accuracy", "ece_before", "ece_after", "ece_after_cross_fitted", "nll_before", "nll_after")}
        for name, t in summary["temperature"].items()
    ]
    write(args, summary, rows, f"fitted on {summary['fitted_on']}", percent=("accuracy", "ece_before", "ece_after", "ece_after_cross_fitted"))
    return 0


def cmd_train(args) -> int:
    from .train import TrainConfig, train

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    with _data_errors():
        summary = train(TrainConfig(**values))
    print(json.dumps(summary, indent=2))  # always JSON: the run's record
    return 0


def cmd_export(args) -> int:
    from pathlib import Path

    import keras
    import numpy as np

    from .train import export, recalibrate_batchnorm

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = keras.models.load_model(args.model, compile=False)
    if model.name == "trainer":  # a checkpoint of the training model: the network inside it
        model = model.get_layer("fer_cnn")
    if args.bn_data:
        from .data import load_dataset
        from .preprocess import preprocess

        with _data_errors():
            faces = load_dataset(args.bn_data).split("Training").images
        faces = faces[np.random.default_rng(0).permutation(len(faces))[: args.bn_faces]]
        recalibrate_batchnorm(model, preprocess(faces))
        print(f"batch-norm statistics recomputed over {len(faces)} Training faces of {args.bn_data} and their mirrors")
    if not export(model, out):
        raise UserError(f"wrote {out / 'fer_cnn.keras'}; the .tflite needs TensorFlow, which is not installed here")
    print(f"wrote {out / 'fer_cnn.keras'} and {out / 'fer_cnn.tflite'}")
    return 0


def cmd_bench(args) -> int:
    from pathlib import Path

    from .bench import run

    figures = run(
        Path(args.samples) if args.samples else None,
        Path(args.data) if args.data else None,
        repeat=args.repeat,
        with_peer=not args.no_peer,
    )
    write(args, figures, [{"figure": k, "value": v} for k, v in figures.items()])
    return 0


# Option checks, run by argparse as ``type=``: a wrong value exits with status 2 and one line naming the option
# ("error: argument --bucket: expected a number > 0, not 'nan' ...") before any work starts.


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line, like the commands' own errors (no usage block)."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _number(kind: type, low: float = 0, high: float | None = None, *, with_low: bool = False, with_high: bool = True):
    """A finite int or float above ``low`` (or equal, ``with_low``) and up to ``high`` (``with_high``)."""
    rule = f"{'an integer' if kind is int else 'a number'} {'>=' if with_low else '>'} {low:g}"
    if high is not None:
        rule += f" and {'<=' if with_high else '<'} {high:g}"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not (
            math.isfinite(value)
            and (value >= low if with_low else value > low)
            and (high is None or (value <= high if with_high else value < high))
        ):
            raise argparse.ArgumentTypeError(f"expected {rule}, not {text!r}")
        return value

    return parse


_positive = _number(float)
_count = _number(int, 1, with_low=True)
_fraction = _number(float, 0, 1, with_low=True)


def _checked(text: str, check) -> str:
    from pathlib import Path

    try:
        problem = check(Path(text))
    except OSError as err:  # e.g. a name too long for the file system
        problem = err.strerror or str(err)
    if problem:
        raise argparse.ArgumentTypeError(f"{text}: {problem}")
    return text


def _input_file(text: str) -> str:
    """A file the command will read: it exists and is a file."""
    return _checked(text, lambda path: None if path.is_file() else "no such file" if not path.exists() else "not a file")


def _output_file(text: str) -> str:
    """A file the command will write: its folder exists and is writable, and it is not itself a folder."""

    def check(path):
        if path.is_dir():
            return "is a folder; expected a file name"
        if not path.parent.is_dir():
            return f"{path.parent} is a file, not a folder" if path.parent.exists() else f"the folder {path.parent} does not exist"
        if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return "cannot be written here (permission denied)"
        return None

    return _checked(text, check)


VIDEO_OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv")


def _output_video(text: str) -> str:
    """A video file the command will write: a writable file (``_output_file``) named .mp4, .mov or .mkv."""
    _output_file(text)
    return _checked(text, lambda path: None if path.suffix.lower() in VIDEO_OUTPUT_SUFFIXES else "expected a .mp4, .mov or .mkv file name")


def _output_folder(text: str) -> str:
    """A folder the command will create if needed and write into."""

    def check(path):
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not existing.is_dir():
            return f"{existing} is a file, not a folder"
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"cannot be written ({existing}: permission denied)"
        return None

    return _checked(text or ".", check)


# Training settings with a range of their own; other numbers must be finite and >= 0 (0 = off or "all").
_TRAIN_TYPES = {
    "epochs": _count, "batch_size": _count, "check_every": _count, "widths": _count, "convs": _count,
    "learning_rate": _positive,
    "seed": _number(int, 0, 2**32 - 1, with_low=True),
    "momentum": _number(float, 0, 1, with_low=True, with_high=False),
    "dropout": _number(float, 0, 1, with_low=True, with_high=False),
    **dict.fromkeys(
        ("label_smoothing", "shift", "zoom", "brightness", "contrast", "erasing", "ferplus_weight", "teacher_weight", "export_above"),
        _fraction,
    ),
    "out": _output_folder, "checkpoints": _output_folder, "teacher_networks": _input_file,
}


def _add_train_flags(parser: argparse.ArgumentParser) -> None:
    from .train import TrainConfig

    for f in dataclasses.fields(TrainConfig):
        default = f.default
        flag = "--" + f.name.replace("_", "-")
        kind = (type(default[0]) if default else str) if isinstance(default, tuple) else type(default)
        checked = _TRAIN_TYPES.get(f.name) or (_number(kind, 0, with_low=True) if kind in (int, float) else kind)
        if f.name == "data":
            parser.add_argument(flag, required=True, help="FER2013 CSV (.csv or .csv.gz) with Training and PublicTest rows")
        elif isinstance(default, tuple):
            parser.add_argument(flag, type=checked, nargs="+", default=default, help=f"default: {' '.join(map(str, default)) or 'none'}")
        else:
            parser.add_argument(flag, type=checked, default=default, help=f"default: {default}")


MODE_HELP = "fast (default): each face as is and mirrored; accurate: two networks over ten views of each face, about 10x the time"


def build_parser() -> argparse.ArgumentParser:
    from .assets import MODES

    parser = _Parser(prog="python -m fer", description="Facial emotion recognition (FER2013 classes).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("image", help="find every face in photos and classify its emotion")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders of images, or glob patterns")
    p.add_argument("--csv", metavar="FILE", type=_output_file, help="also write one row per face (file, face, box, score, label, probabilities, mode, model)")
    p.add_argument("--json", action="store_true", help="print one JSON object per image, one per line")
    p.add_argument("--mode", choices=list(MODES), default="fast", help=MODE_HELP)
    p.set_defaults(func=cmd_image)

    p = sub.add_parser("video", help="mood timeline of a recorded video (mp4, webm, mov, mkv, avi...)")
    p.add_argument("path")
    p.add_argument("--bucket", type=_positive, default=1.0, help="seconds per timeline entry (default: 1)")
    p.add_argument("--sample-fps", type=_positive, default=5.0, help="frames analysed per second of video (default: 5)")
    p.add_argument("--json", action="store_true", help='print {"fps", "timeline": [{"t", "faces", "distribution"}]}')
    p.add_argument("--csv", metavar="FILE", type=_output_file, help="also write the timeline (shares and mean probabilities) as CSV")
    p.add_argument(
        "--annotate", metavar="OUT.mp4", type=_output_video,
        help="also write the video with each analysed face boxed and labelled and a strip of the current bucket's mood (H.264)",
    )
    p.add_argument(
        "--faces", metavar="FILE", type=_output_file,
        help="also write one CSV row per face per analysed frame (file, t, track, face, box, score, label, probabilities, mode, model)",
    )
    p.add_argument("--mode", choices=list(MODES), default="fast", help=MODE_HELP)
    p.set_defaults(func=cmd_video)

    p = sub.add_parser("evaluate", help="accuracy of the model on a labelled dataset")
    p.add_argument("data", help="FER2013 .csv/.csv.gz, or a folder DATA/<emotion>/*.png|jpg")
    p.add_argument("--split", help="only rows with this Usage value (e.g. PublicTest)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--mode", choices=list(MODES), default="fast", help=MODE_HELP)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("calibrate", help="fit the temperatures that calibrate the probabilities (writes models/fer_cnn.json)")
    p.add_argument("data", help="FER2013 .csv/.csv.gz or .npz")
    p.add_argument("--split", default="PublicTest", help="rows to fit on (default: PublicTest; never PrivateTest)")
    p.add_argument("--model", help="the .tflite model (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("bench", help="time detection, classification and the whole pipeline")
    p.add_argument("--samples", help="a folder of the sample photos named in fer.bench.KNOWN_FACES, for frames of real faces (default: generated frames)")
    p.add_argument("--data", help="FER2013 .csv/.csv.gz: report the model's PublicTest accuracy next to its speed")
    p.add_argument("--no-peer", action="store_true", help="do not time the `fer` package from PyPI")
    p.add_argument("--repeat", type=_count, default=50, help="timed repetitions per figure")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("export", help="export a .keras model to the app's runtime (weights-only .keras + .tflite)")
    p.add_argument("model", help=".keras file (e.g. checkpoints/best.keras)")
    p.add_argument("--out", default="models", type=_output_folder, help="folder for fer_cnn.keras and fer_cnn.tflite")
    p.add_argument(
        "--bn-data", metavar="DATA",
        help="FER2013 .csv/.csv.gz/.npz: first recompute the batch-norm statistics over its clean Training faces and their mirrors",
    )
    p.add_argument(
        "--bn-faces", type=_count, default=4096,
        help="with --bn-data: that many Training faces, drawn at random (default: 4096; 1,024 to 16,384 made the same accuracy, more take longer)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("train", help="train the emotion model (resumes from checkpoints)")
    _add_train_flags(p)
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    _quiet_tensorflow()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
