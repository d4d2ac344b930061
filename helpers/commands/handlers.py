"""What each ``cnn-course`` command does, once ``cli`` has parsed its arguments: check the
arguments and output paths first, then do the work; each returns the exit code."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers import files
from helpers.errors import DatasetError, UsageError


def quiet_tensorflow() -> None:
    from helpers.startup import start_tensorflow

    start_tensorflow()


def show_results(result: dict, table: str, written: Path, as_json: bool) -> None:
    """A benchmark's results on the terminal, as a table or (``--json``) as JSON, and where
    their JSON file was written."""
    import json

    print(json.dumps(result, indent=2) if as_json else f"{table}\nJSON: {written}")


def fetch_data(args: argparse.Namespace) -> int:
    from helpers.commands.fetch import UnusableStrayFiles, fetch_mnist
    from helpers.paths import DATA_ENV

    files.check_output_dir(args.out, what="--out")
    online_advice = ("Connect to the internet and try again, or copy from a prepared folder "
                     "with `cnn-course fetch-data --from DIR`.")
    try:
        dest = fetch_mnist(args.out, from_dir=args.from_dir)
    except DatasetError as exc:
        if args.from_dir is not None or isinstance(exc, UnusableStrayFiles):
            raise  # the folder was the problem, not the network
        raise DatasetError(f"{exc} {online_advice}") from None
    fetch_animal_photos(dest, args.from_dir, online_advice)
    if args.from_dir is not None:
        copy_checkpoints(args.from_dir)
    if args.with_photos:
        quiet_tensorflow()
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


def fetch_animal_photos(dest: Path, from_dir: Path | None, online_advice: str) -> None:
    """CIFAR-10 for notebook 10, from a prepared folder or the canonical archive; a prepared
    folder without it is said, not an error (the notebook then runs on a generated sample)."""
    from helpers import cifar10

    if from_dir is not None and cifar10.find_prepared(from_dir) is None:
        if cifar10.find_photo_folder(dest) is None:
            print(f"CIFAR-10: none in {from_dir}; notebook 10 will run on a small generated "
                  "sample (on a connected machine, `cnn-course fetch-data` downloads it).")
        return
    try:
        cifar10.fetch_cifar10(dest, from_dir=from_dir)
    except DatasetError as exc:
        if from_dir is not None:
            raise
        raise DatasetError(f"{exc} {online_advice}") from None


def copy_checkpoints(from_dir: Path) -> None:
    """Copy the verified checkpoints of a prepared folder (``DIR/checkpoints``)."""
    from helpers.checkpoints import checkpoint_dir
    from helpers.commands.prepare import NOTEBOOK_CHECKPOINTS, copy_verified

    source = Path(from_dir) / "checkpoints"
    if not source.is_dir():
        print(f"Checkpoints: none in {source}; notebooks "
              f"{', '.join(s[:2] for s in NOTEBOOK_CHECKPOINTS)} will train theirs "
              "(or make them with `cnn-course prepare`).")
        return
    copied = copy_verified(source)
    print(f"Checkpoints: copied {len(copied)} verified from {source} into "
          f"{checkpoint_dir()}" + (f": {', '.join(copied)}" if copied else ""))


def run(args: argparse.Namespace) -> int:
    from helpers.commands.runner import run_course

    results = run_course(out_dir=args.out, fast=args.fast, only=args.only,
                         notebook_dir=args.notebooks, force=args.force)
    failed = [stem for stem, r in results.items() if r.status != "ok"]
    print(f"Report: {Path(args.out) / 'report.md'}")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def solutions_copy(args: argparse.Namespace) -> int:
    from helpers.commands.solutions import solutions_copy

    if args.out.resolve() == args.notebooks.resolve():
        raise UsageError("--out is the notebooks' own folder; give another folder.")
    written = solutions_copy(args.notebooks, args.out, force=args.force)
    print(f"{len(written)} notebooks with their exercises solved in {args.out}")
    return 0


def bench_reading(args: argparse.Namespace) -> int:
    files.check_output_file(args.out, ".json", what="--out")
    from helpers.commands import bench_reading

    from helpers.pictures import MAX_PIXELS

    if args.side ** 2 > MAX_PIXELS:
        raise UsageError(f"--side {args.side}: the course refuses pictures over {MAX_PIXELS:,} "
                         f"pixels; give at most {int(MAX_PIXELS ** 0.5):,}.")
    result = bench_reading.run(side=args.side)
    show_results(result, bench_reading.format_table(result),
                 bench_reading.write_json(result, args.out), args.json)
    return 0


def sample_digits(args: argparse.Namespace) -> int:
    from helpers import mnist, samples

    files.check_output_dir(args.out, what="--out")  # before the data is read
    data = mnist.load_mnist()
    (_, _), test = data
    if args.per_kind > len(test[1]):
        raise UsageError(f"--per-kind {args.per_kind}: there are only {len(test[1]):,} test "
                         "digits to draw the handwritten kinds from.")
    if data.source == "sample":
        print("Note: without the full MNIST, the handwritten kinds are drawn from the offline "
              "sample, whose digits a model trained on the full MNIST has seen.")
    with files.OutputFolder(args.out) as out:
        made = samples.real_world_digits(per_kind=args.per_kind, seed=args.seed,
                                         mnist_test=test)
        names = [s.name for s in made] + ["labels.csv"]
        out.refuse_others(names, force=args.force)
        try:
            labels = samples.write_samples(made, out.path)
        finally:
            out.record(*(out.path / name for name in names))
    print(f"{len(made)} images of {len(samples.KINDS)} kinds in {args.out}; score a model on "
          f"them with:\n\n    cnn-course predict --model MODEL.keras --labels {labels}")
    return 0


def train(args: argparse.Namespace) -> int:
    files.check_output_file(args.out, ".keras", what="--out")
    files.check_output_file(args.out.with_suffix(".json"), ".json", what="model card")
    if (args.workers is not None or args.allow_network) and args.distribute != "multiworker":
        raise UsageError("--workers and --allow-network are for --distribute multiworker.")
    from helpers import cluster

    if args.workers is not None and args.workers > cluster.most_workers():
        raise UsageError(f"--workers {args.workers}: at most {cluster.most_workers()} on this "
                         "machine (one per core, at least 4); more would only share its cores.")
    if args.distribute == "multiworker":
        cluster.check_private_network(args.allow_network)  # refused before any work
    quiet_tensorflow()
    if args.distribute == "mirrored":
        from helpers.distributed import split_cpu

        split_cpu(2)  # before TensorFlow starts its devices; GPUs, where there are, train
    from helpers.commands.train import train_and_save

    card = train_and_save(args.recipe, args.out, epochs=args.epochs, distribute=args.distribute,
                          workers=args.workers or 2, force=args.force,
                          allow_network=args.allow_network)
    how = card.distribution
    where = f" with {how['strategy']} on {how['replicas']} replicas" if how else ""
    print(f"test accuracy {card.measured['test_accuracy']:.2%} after "
          f"{card.training_seconds:.0f} s of training{where}; model saved to {args.out}")
    return 0


def bench(args: argparse.Namespace) -> int:
    files.check_output_file(args.out, ".json", what="--out")
    quiet_tensorflow()
    from helpers.commands.bench import format_table, run_bench, write_json

    result = run_bench(args.recipes, epochs=args.epochs, train_size=args.train_size,
                       seeds=args.seeds)
    show_results(result, format_table(result), write_json(result, args.out), args.json)
    return 0


def predict(args: argparse.Namespace) -> int:
    import json

    from helpers import own_digits
    from helpers.commands.predict import describe_prediction, read_digits, report_labelled

    if bool(args.images) == (args.labels is not None):
        raise UsageError("give image files, or --labels FILE.csv or FOLDER (not both).")
    examples = own_digits.read_examples(args.labels) if args.labels is not None else []
    names = [str(name) for name in args.images] or [str(e.file) for e in examples]
    quiet_tensorflow()
    results = read_digits(args.model, names)
    if examples and any("class" in r for r in results):
        raise UsageError("--labels scores digit models; give a photo model the photos themselves.")
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


def prepare(args: argparse.Namespace) -> int:
    from helpers.commands.prepare import prepare as make_checkpoints

    files.check_output_dir(args.out, what="--out")
    results = make_checkpoints(args.out, fast=args.fast, force=args.force)
    failed = [stem for stem, r in results.items() if r.status != "ok"]
    if failed:
        print(f"{len(failed)} notebook(s) failed, their checkpoints not all made: "
              f"{', '.join(failed)}; see {args.out / 'report.md'}", file=sys.stderr)
        return 1
    from helpers.checkpoints import checkpoint_dir

    print(f"Checkpoints ready in {checkpoint_dir()}"
          + (f"; report: {args.out / 'report.md'}" if results else ""))
    return 0


def catch_up(args: argparse.Namespace) -> int:
    from helpers import checkpoints, paths

    out = files.check_output_file(args.out or paths.model_path(args.fast), ".keras",
                                  what="--out")
    if out.exists() and not args.force:
        raise UsageError(f"there is a model at {out} already (yours?); --force replaces it.")
    from helpers.model_card import refuse_replacing

    refuse_replacing(out, force=args.force)  # a .json beside it that is not a model card
    checkpoints.catch_up(out, fast=args.fast)
    return 0


def install_kernel(args: argparse.Namespace) -> int:
    from helpers.commands.kernel import install_kernel as register

    register()
    return 0


def doctor(args: argparse.Namespace) -> int:
    from helpers.commands import doctor as checks

    return checks.run(probe=not args.no_probe)


CHECKS = 3   # `speed --check`: this many whole epochs, each between two probes


def speed(args: argparse.Namespace) -> int:
    import statistics

    from helpers import speed as unit

    def probe():
        measured = unit.measure()
        print(f"one reference epoch: {measured.reference_epoch_seconds:.1f} s on this machine "
              f"(predicted from a {measured.probe_seconds:.1f} s probe: "
              f"{measured.train_step_seconds * 1000:.1f} ms per training step of 32 images, "
              f"{measured.eval_step_seconds * 1000:.1f} ms per evaluation batch)", flush=True)
        return measured.reference_epoch_seconds

    before = probe()
    if not args.check:
        return 0
    ratios = []
    for _ in range(CHECKS):   # the machine's speed drifts: each whole epoch between two probes
        whole = unit.measure_reference_epoch()
        after = probe()
        ratios.append((before + after) / 2 / whole)
        print(f"  a whole reference epoch between those two probes: {whole:.1f} s; their mean "
              f"is {ratios[-1]:.2f}x of it", flush=True)
        before = after
    median = statistics.median(ratios)
    print(f"median of {len(ratios)} checks: the probe is {median:.2f}x of a whole epoch, "
          + ("within" if abs(median - 1) <= 0.05 else "outside") + " 5%")
    return 0
