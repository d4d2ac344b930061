"""The ``cnn-course`` command line: its commands, their arguments and exit codes (what each
command does is in ``helpers.commands.handlers``)."""
from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from helpers import paths
from helpers.commands import handlers
from helpers.errors import CourseError, UsageError
from helpers.distributed import STRATEGIES
from helpers.recipes import RECIPES

EXIT_CODES = """exit codes (every command):
  0    everything asked for was done
  1    something the command needed was missing or unusable (data, a model, an image,
       the network); the message says what to do
  2    the command line was wrong (an unknown option, a bad value, an output path that
       cannot be written): refused before any work started
  130  interrupted (Ctrl-C)"""


def bounded_int(low: int, high: int | None = None):
    """An argparse type: a whole number from ``low`` to ``high``, with a message that says so."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            limits = f"from {low:,} to {high:,}" if high is not None else f"at least {low:,}"
            raise argparse.ArgumentTypeError(f"must be {limits}, got {value:,}")
        return value
    return parse


MOST_EPOCHS = 1000     # days of training on a laptop: more is a typing mistake
FEWEST_TRAIN_IMAGES = 100  # below it, a recipe's batches and its validation share are empty


positive_int = bounded_int(1)
epochs_count = bounded_int(1, MOST_EPOCHS)


FORCE_HELP = ("replace files in --out that the course did not write there, or that were "
              "changed since (edited notebooks, say)")


# The commands in three groups, as `cnn-course --help` lists them: (name, one line of help).
GROUPS = [
    ("for learners", [
        ("doctor", "check that the course will run here (under a minute): one line per check"),
        ("predict", "read digits from image files, or score a model on labelled ones"),
        ("train", "train a model with a named recipe and save it with its model card"),
        ("catch-up", "put notebook 03's model where notebooks 04 and 08 look, from its "
                     "checkpoint"),
    ]),
    ("for instructors", [
        ("fetch-data", "download (or copy) everything the course needs, for offline use"),
        ("prepare", "train and keep the checkpoints the notebooks load (missing ones only)"),
        ("run", "execute the notebooks and write a report"),
        ("solutions-copy", "write the notebooks with every checked exercise solved"),
        ("sample-digits", "write the course's real-world-style digit images and a labels.csv"),
        ("install-kernel", "register the course's Jupyter kernel for this environment"),
    ]),
    ("for the course's developers", [
        ("bench", "compare the training recipes' speed and accuracy"),
        ("bench-reading", "time and measure the memory of reading a very large picture"),
        ("speed", "this machine's reference epoch, the course's unit of time"),
    ]),
]


def command_list() -> str:
    """The commands, group by group, for ``cnn-course --help``."""
    lines = []
    for title, commands in GROUPS:
        lines += ["", f"commands {title}:"]
        lines += [f"  {name:16s}{text}" for name, text in commands]
    return "\n".join(lines[1:])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``cnn-course`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="cnn-course", usage="cnn-course [-h] COMMAND [options]",
        description="Image classification with CNNs: the course's tools.\n\n" + command_list(),
        epilog=EXIT_CODES + "\n\n`cnn-course COMMAND --help` describes one command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                        help=argparse.SUPPRESS)
    helps = {name: text for _, commands in GROUPS for name, text in commands}

    def command(name: str) -> argparse.ArgumentParser:
        return subcommands.add_parser(name, help=helps[name], description=helps[name])

    fetch = command("fetch-data")
    fetch.add_argument("--out", type=Path, default=paths.DATA_DIR,
                       help="folder to fill (default: %(default)s)")
    fetch.add_argument("--from", dest="from_dir", type=Path, metavar="DIR",
                       help="copy MNIST from a folder (a USB stick, a shared drive), no download")
    fetch.add_argument("--with-photos", action="store_true",
                       help="also MobileNetV2's ImageNet weights and the flower photos for "
                            "notebook 06, part B (about 240 MB)")
    fetch.set_defaults(handler=handlers.fetch_data)

    run = command("run")
    run.add_argument("--fast", action="store_true",
                     help="small data and one epoch: checks every cell runs, in minutes")
    run.add_argument("--only", nargs="+", metavar="NN", help="only these notebook numbers")
    run.add_argument("--out", type=Path, default=paths.BUILD_DIR,
                     help="output folder (default: %(default)s)")
    run.add_argument("--notebooks", type=Path, default=paths.NOTEBOOK_DIR,
                     help="folder of numbered notebooks (default: %(default)s)")
    run.add_argument("--force", action="store_true", help=FORCE_HELP)
    run.set_defaults(handler=handlers.run)

    copy = command("solutions-copy")
    copy.add_argument("--out", type=Path, default=paths.BUILD_DIR / "solutions",
                      help="output folder (default: %(default)s)")
    copy.add_argument("--notebooks", type=Path, default=paths.NOTEBOOK_DIR,
                      help="folder of numbered notebooks (default: %(default)s)")
    copy.add_argument("--force", action="store_true", help=FORCE_HELP)
    copy.set_defaults(handler=handlers.solutions_copy)

    sample = command("sample-digits")
    sample.add_argument("--out", type=Path, default=paths.BUILD_DIR / "sample_digits",
                        help="output folder (default: %(default)s)")
    sample.add_argument("--per-kind", type=positive_int, default=100, metavar="N",
                        help="images of each kind (default: %(default)s)")
    sample.add_argument("--seed", type=bounded_int(0), default=1,
                        help="which images (default: %(default)s; notebook 08 uses 0)")
    sample.add_argument("--force", action="store_true", help=FORCE_HELP)
    sample.set_defaults(handler=handlers.sample_digits)

    names = list(RECIPES)
    train = command("train")
    train.add_argument("--recipe", choices=names, default="fast",
                       help="training recipe (default: %(default)s)")
    train.add_argument("--epochs", type=epochs_count, help="override the recipe's epochs")
    train.add_argument("--out", type=Path, default=paths.model_path(),
                       help="where to save the .keras model; a .json model card goes beside it "
                            "(default: %(default)s)")
    train.add_argument("--distribute", choices=STRATEGIES,
                       help="data-parallel: 'mirrored' over this machine's GPUs (else its CPU "
                            "split in two devices), 'multiworker' in --workers processes on "
                            "127.0.0.1, in a network of their own that nothing outside this "
                            "machine reaches (Linux); the recipe's batch is split among them")
    train.add_argument("--workers", type=positive_int, metavar="N",
                       help="worker processes for --distribute multiworker (default: 2)")
    train.add_argument("--allow-network", action="store_true",
                       help="where the system cannot give the workers a network of their own "
                            "(not Linux), run them anyway, reachable from this machine's "
                            "network while they train")
    train.add_argument("--force", action="store_true",
                       help="replace what --out holds even when the course did not make it, or "
                            "it was trained on more images than this training has")
    train.set_defaults(handler=handlers.train)

    bench = command("bench")
    bench.add_argument("--recipes", nargs="+", choices=names, default=names,
                       metavar="RECIPE", help=f"recipes to run, in order (default: all: "
                                              f"{' '.join(names)})")
    bench.add_argument("--out", type=Path, default=paths.BUILD_DIR / "bench.json",
                       help="the JSON file of results (default: %(default)s)")
    bench.add_argument("--json", action="store_true",
                       help="print the results as JSON instead of a table")
    bench.add_argument("--epochs", type=epochs_count, help="override every recipe's epochs")
    bench.add_argument("--seeds", type=bounded_int(1, 10), default=1, metavar="N",
                       help="train each recipe from N seeds: mean and spread of test accuracy")
    bench.add_argument("--train-size", type=bounded_int(FEWEST_TRAIN_IMAGES), metavar="N",
                       help="train on N images only (a quick check)")
    bench.set_defaults(handler=handlers.bench)

    reading = command("bench-reading")
    reading.add_argument("--side", type=positive_int, default=6000, metavar="PIXELS",
                         help="the picture's width and height (default: %(default)s)")
    reading.add_argument("--out", type=Path, default=paths.BUILD_DIR / "bench_reading.json",
                         help="the JSON file of results (default: %(default)s)")
    reading.add_argument("--json", action="store_true",
                         help="print the results as JSON instead of a table")
    reading.set_defaults(handler=handlers.bench_reading)

    predict = command("predict")
    predict.add_argument("images", nargs="*", metavar="IMAGE",
                         help="image files: PNG, JPEG, BMP, GIF or WebP, any size")
    predict.add_argument("--labels", type=Path, metavar="CSV_OR_FOLDER",
                         help="labelled images: a CSV file (columns file,label and optional "
                              "group) or a folder of digit folders 0/ to 9/ (as notebook 08 saves "
                              "them); prints accuracy overall and per group, and the confusions")
    predict.add_argument("--model", type=Path, default=paths.model_path(),
                         help="a .keras model (default: %(default)s)")
    predict.add_argument("--json", action="store_true",
                         help="print JSON instead of text: one object per line (with --labels: "
                              "one object with every result and the scores)")
    predict.set_defaults(handler=handlers.predict)

    doctor = command("doctor")
    doctor.add_argument("--no-probe", action="store_true",
                        help="skip the speed probe and the predicted times")
    doctor.set_defaults(handler=handlers.doctor)

    prepare = command("prepare")
    prepare.add_argument("--force", action="store_true",
                         help="make every checkpoint again, replacing what --out holds")
    prepare.add_argument("--fast", action="store_true", help="fast mode's checkpoints (a test)")
    prepare.add_argument("--out", type=Path, default=paths.BUILD_DIR / "prepare",
                         help="where the notebooks that make them are written "
                              "(default: %(default)s)")
    prepare.set_defaults(handler=handlers.prepare)

    catch = command("catch-up")
    catch.add_argument("--fast", action="store_true", help="fast mode's model")
    catch.add_argument("--force", action="store_true", help="replace a model already there")
    catch.add_argument("--out", type=Path,
                       help=f"where to put it (default: {paths.model_path()})")
    catch.set_defaults(handler=handlers.catch_up)

    kernel = command("install-kernel")
    kernel.set_defaults(handler=handlers.install_kernel)

    speed = command("speed")
    speed.add_argument("--check", action="store_true",
                       help="time three whole reference epochs, each between two probes, "
                            "and give the median ratio")
    speed.set_defaults(handler=handlers.speed)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cnn-course``; returns the exit code (see ``EXIT_CODES``)."""
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a full or closed output fails here, not as the program ends
        return code
    except BrokenPipeError:  # the reader stopped reading (`| head`): nothing more to say
        _drop_stdout()
        return 1
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        _drop_stdout()
        print(f"cnn-course {args.command}: no space left on the device while writing "
              f"{exc.filename or 'the output'}; free some space and run it again.",
              file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"cnn-course {args.command}: {exc}", file=sys.stderr)
        return 2
    except CourseError as exc:
        print(f"cnn-course {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _drop_stdout() -> None:
    """Send what is still buffered for the standard output nowhere, so that Python's own
    flush at exit fails no more."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (a test's capture): nothing buffered at exit
    nowhere = os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, fd)
    os.close(nowhere)


if __name__ == "__main__":
    sys.exit(main())
