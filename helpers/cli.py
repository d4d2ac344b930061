"""The ``cnn-course`` command line: fetch data, run the course, make the learners' copy,
train, benchmark (training and reading), write sample digits, predict."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers import files, paths
from helpers.errors import CourseError, DatasetError, UsageError
from helpers.recipes import RECIPES

EXIT_CODES = """exit codes (every command):
  0    everything asked for was done
  1    something the command needed was missing or unusable (data, a model, an image,
       the network); the message says what to do
  2    the command line was wrong (an unknown option, a bad value, an output path that
       cannot be written): refused before any work started
  130  interrupted (Ctrl-C)"""


def _quiet_tensorflow() -> None:
    from helpers.startup import start_tensorflow

    start_tensorflow()


def _fetch_data(args: argparse.Namespace) -> int:
    from helpers.fetch import fetch_mnist
    from helpers.paths import DATA_ENV

    files.check_output_dir(args.dest, what="--dest")
    online_advice = ("Connect to the internet and try again, or copy from a prepared folder "
                     "with `cnn-course fetch-data --from DIR`.")
    try:
        dest = fetch_mnist(args.dest, from_dir=args.from_dir)
    except DatasetError as exc:
        if args.from_dir is not None:
            raise  # the folder was the problem, not the network
        raise DatasetError(f"{exc} {online_advice}") from None
    if args.with_photos:
        _quiet_tensorflow()
        from helpers import photos, transfer

        try:
            weights, _ = photos.fetch_photo_assets(dest)
        except DatasetError as exc:
            raise DatasetError(f"{exc} The photos and weights need the internet once: fetch "
                               "them on a connected machine and copy its data folder.") from None
        transfer.check_mobilenet_weights(weights)
    print(f"\nEverything the course needs is in {dest}. Point the course at it with:\n")
    print(f"    export {DATA_ENV}={dest}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from helpers.runner import run_course

    files.check_output_dir(args.out, what="--out")
    results = run_course(out_dir=args.out, fast=args.fast, only=args.only,
                         notebook_dir=args.notebooks)
    failed = [stem for stem, r in results.items() if r.status != "ok"]
    print(f"Report: {Path(args.out) / 'report.md'}")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _learners_copy(args: argparse.Namespace) -> int:
    from helpers.learners import learners_copy

    files.check_output_dir(args.out, what="--out")
    if args.out.resolve() == args.notebooks.resolve():
        raise UsageError("--out is the notebooks' own folder; give another folder.")
    written = learners_copy(args.notebooks, args.out)
    if not written:
        raise UsageError(f"--notebooks {args.notebooks}: no numbered notebooks there.")
    print(f"{len(written)} notebooks without solutions in {args.out}")
    return 0


def _bench_reading(args: argparse.Namespace) -> int:
    files.check_output_file(args.json, ".json", what="--json")
    from helpers import reading_benchmark

    from helpers.pictures import MAX_PIXELS

    if args.side ** 2 > MAX_PIXELS:
        raise UsageError(f"--side {args.side}: the course refuses pictures over {MAX_PIXELS:,} "
                         f"pixels; give at most {int(MAX_PIXELS ** 0.5):,}.")
    result = reading_benchmark.run(side=args.side)
    print(reading_benchmark.format_table(result))
    print(f"JSON: {reading_benchmark.write_json(result, args.json)}")
    return 0


def _sample_digits(args: argparse.Namespace) -> int:
    from helpers import mnist, samples

    files.check_output_dir(args.out, what="--out")
    data = mnist.load_mnist()
    (_, _), test = data
    if args.per_kind > len(test[1]):
        raise UsageError(f"--per-kind {args.per_kind}: there are only {len(test[1]):,} test "
                         "digits to draw the handwritten kinds from.")
    if data.source == "sample":
        print("Note: without the full MNIST, the handwritten kinds are drawn from the offline "
              "sample, whose digits a model trained on the full MNIST has seen.")
    made = samples.real_world_digits(per_kind=args.per_kind, seed=args.seed, mnist_test=test)
    labels = samples.write_samples(made, args.out)
    print(f"{len(made)} images of {len(samples.KINDS)} kinds in {args.out}; score a model on "
          f"them with:\n\n    cnn-course predict --model MODEL.keras --labels {labels}")
    return 0


def _train(args: argparse.Namespace) -> int:
    files.check_output_file(args.out, ".keras", what="--out")
    files.check_output_file(args.out.with_suffix(".json"), ".json", what="model card")
    _quiet_tensorflow()
    from helpers.training import train_and_save

    card = train_and_save(args.recipe, args.out, epochs=args.epochs)
    print(f"test accuracy {card['test_accuracy']:.2%} after {card['training_seconds']:.0f} s "
          f"of training; model saved to {args.out}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    files.check_output_file(args.json, ".json", what="--json")
    _quiet_tensorflow()
    from helpers import benchmark

    result = benchmark.run_bench(args.recipes, epochs=args.epochs, train_size=args.train_size)
    print(benchmark.format_table(result))
    print(f"JSON: {benchmark.write_json(result, args.json)}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import json

    from helpers import own_digits
    from helpers.predicting import describe_prediction, read_digits, report_labelled

    if bool(args.images) == (args.labels is not None):
        raise UsageError("give image files, or --labels FILE.csv or FOLDER (not both).")
    examples = own_digits.read_examples(args.labels) if args.labels is not None else []
    names = [str(name) for name in args.images] or [str(e.file) for e in examples]
    _quiet_tensorflow()
    results = read_digits(args.model, names)
    if examples:
        for result, example in zip(results, examples):
            result.update(label=example.label, group=example.group)
        return report_labelled(results, as_json=args.json)
    for result in results:
        if args.json:
            print(json.dumps(result))
        elif "error" in result:
            print(f"cnn-course predict: {result['error']}", file=sys.stderr)
        else:
            print(describe_prediction(result))
    return 1 if any("error" in r for r in results) else 0


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1, with a message that says so."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``cnn-course`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="cnn-course", description="Image classification with CNNs: the course's tools.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = commands.add_parser(
        "fetch-data", help="download (or copy) everything the course needs, for offline use"
    )
    fetch.add_argument("--dest", type=Path, default=paths.DATA_DIR,
                       help="folder to fill (default: %(default)s)")
    fetch.add_argument("--from", dest="from_dir", type=Path, metavar="DIR",
                       help="copy MNIST from a folder (a USB stick, a shared drive), no download")
    fetch.add_argument("--with-photos", action="store_true",
                       help="also MobileNetV2's ImageNet weights and the flower photos for "
                            "notebook 06, part B (about 240 MB)")
    fetch.set_defaults(handler=_fetch_data)

    run = commands.add_parser("run", help="execute the notebooks and write a report")
    run.add_argument("--fast", action="store_true",
                     help="small data and one epoch: checks every cell runs, in minutes")
    run.add_argument("--only", nargs="+", metavar="NN", help="only these notebook numbers")
    run.add_argument("--out", type=Path, default=paths.BUILD_DIR,
                     help="output folder (default: %(default)s)")
    run.add_argument("--notebooks", type=Path, default=paths.NOTEBOOK_DIR,
                     help="folder of numbered notebooks (default: %(default)s)")
    run.set_defaults(handler=_run)

    copy = commands.add_parser("learners-copy",
                               help="write the notebooks without their exercise solutions")
    copy.add_argument("--out", type=Path, default=paths.BUILD_DIR / "learners",
                      help="output folder (default: %(default)s)")
    copy.add_argument("--notebooks", type=Path, default=paths.NOTEBOOK_DIR,
                      help="folder of numbered notebooks (default: %(default)s)")
    copy.set_defaults(handler=_learners_copy)

    sample = commands.add_parser(
        "sample-digits", help="write the course's real-world-style digit images and a labels.csv")
    sample.add_argument("--out", type=Path, default=paths.BUILD_DIR / "sample_digits",
                        help="output folder (default: %(default)s)")
    sample.add_argument("--per-kind", type=positive_int, default=100, metavar="N",
                        help="images of each kind (default: %(default)s)")
    sample.add_argument("--seed", type=int, default=1,
                        help="which images (default: %(default)s; notebook 08 uses 0)")
    sample.set_defaults(handler=_sample_digits)

    names = list(RECIPES)
    train = commands.add_parser("train", help="train a model with a named recipe and save it")
    train.add_argument("--recipe", choices=names, default="fast",
                       help="training recipe (default: %(default)s)")
    train.add_argument("--epochs", type=positive_int, help="override the recipe's epochs")
    train.add_argument("--out", type=Path, default=paths.model_path(),
                       help="where to save the .keras model; a .json model card goes beside it "
                            "(default: %(default)s)")
    train.set_defaults(handler=_train)

    bench = commands.add_parser("bench", help="compare the training recipes' speed and accuracy")
    bench.add_argument("--recipes", nargs="+", choices=names, default=names,
                       metavar="RECIPE", help=f"recipes to run, in order (default: all: "
                                              f"{' '.join(names)})")
    bench.add_argument("--json", type=Path, default=paths.BUILD_DIR / "bench.json",
                       help="where to write the results (default: %(default)s)")
    bench.add_argument("--epochs", type=positive_int, help="override every recipe's epochs")
    bench.add_argument("--train-size", type=positive_int, metavar="N",
                       help="train on N images only (a quick check)")
    bench.set_defaults(handler=_bench)

    reading = commands.add_parser(
        "bench-reading", help="time and measure the memory of reading a very large picture")
    reading.add_argument("--side", type=positive_int, default=6000, metavar="PIXELS",
                         help="the picture's width and height (default: %(default)s)")
    reading.add_argument("--json", type=Path, default=paths.BUILD_DIR / "bench_reading.json",
                         help="where to write the results (default: %(default)s)")
    reading.set_defaults(handler=_bench_reading)

    predict = commands.add_parser("predict", help="read digits from image files")
    predict.add_argument("images", nargs="*", metavar="IMAGE",
                         help="image files: PNG, JPEG, BMP, GIF or WebP, any size")
    predict.add_argument("--labels", type=Path, metavar="CSV_OR_FOLDER",
                         help="labelled images: a CSV file (columns file,label and optional "
                              "group) or a folder of digit folders 0/ to 9/ (as notebook 08 saves "
                              "them); prints accuracy overall and per group, and the confusions")
    predict.add_argument("--model", type=Path, default=paths.model_path(),
                         help="a .keras model (default: %(default)s)")
    predict.add_argument("--json", action="store_true",
                         help="one JSON object per line instead of text (with --labels: "
                              "one object with every result and the scores)")
    predict.set_defaults(handler=_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cnn-course``; returns the exit code (see ``EXIT_CODES``)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"cnn-course {args.command}: {exc}", file=sys.stderr)
        return 2
    except CourseError as exc:
        print(f"cnn-course {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
