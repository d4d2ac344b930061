"""One worker of a multi-worker training: ``python -m helpers.worker``.

Each worker of a cluster runs this same program, with ``TF_CONFIG`` naming the cluster and
its own place in it (:mod:`helpers.cluster` starts them on this machine; on real machines,
start one on each). The workers train a recipe together under
``MultiWorkerMirroredStrategy`` with :func:`helpers.distributed.train_loop`, and each writes
its final weights and history.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from dataclasses import replace
from pathlib import Path

from helpers import report
from helpers.distributed import TF_CONFIG_ENV, describe, train_loop
from helpers.errors import CourseError, UsageError


def worker_parser() -> argparse.ArgumentParser:
    """The worker's arguments (``helpers.cluster`` passes them; ``TF_CONFIG`` says where it is)."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.worker",
        description="One worker of a multi-worker training: run one per worker, each with "
                    f"${TF_CONFIG_ENV} naming the cluster and its own index in it.")
    parser.add_argument("--recipe", default="seed", help="training recipe (helpers.recipes)")
    parser.add_argument("--epochs", type=int, help="epochs (default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="the global batch (default: the recipe's)")
    parser.add_argument("--train-size", type=int, help="train on this many images (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="random start and data order")
    parser.add_argument("--threads", type=int, help="CPU threads this worker may use")
    parser.add_argument("--backup", type=Path, help="checkpoint folder to resume from and keep")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for this worker's weights and history")
    parser.add_argument("--launcher-pid", type=int, metavar="PID",
                        help="end with process PID, the one that started this worker (Linux)")
    parser.add_argument("--crash-after-epoch", type=int, metavar="K",
                        help="die (SIGKILL) once epoch K is kept, as when a machine fails")
    return parser


def worker_main(argv: list[str] | None = None) -> int:
    """Train the recipe under ``MultiWorkerMirroredStrategy`` with ``train_loop`` and write
    ``worker-<index>.npz`` (the final weights) and ``worker-<index>.json`` (the history)."""
    import numpy as np

    from helpers import files, mnist
    from helpers.recipes import get_recipe
    from helpers.startup import start_tensorflow

    args = worker_parser().parse_args(argv)
    if args.launcher_pid:
        _end_with_launcher(args.launcher_pid)
    tf = start_tensorflow()
    import keras

    recipe = get_recipe(args.recipe)
    recipe = replace(recipe, batch_size=args.batch_size or recipe.batch_size)
    files.check_output_dir(args.out, what="--out")
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()   # finds the others in TF_CONFIG
    index = strategy.cluster_resolver.task_id
    epochs = args.epochs or recipe.epochs
    (x_train, y_train), _ = mnist.load_mnist()
    x, y = mnist.subset(mnist.to_model_input(x_train), y_train, args.train_size)
    if len(x) < recipe.batch_size:
        raise UsageError(f"{len(x):,} images make no global batch of {recipe.batch_size}.")
    weights, history = {}, []
    for member, build in enumerate(recipe.builders):
        keras.utils.set_random_seed(args.seed + member)
        with strategy.scope():
            model = build()
            optimizer = recipe.optimizer(len(x) // recipe.batch_size * epochs)
        if recipe.members > 1:
            report.announce(f"network {member + 1} of {recipe.members}: {model.name}")
        result = train_loop(strategy, model, optimizer, (x, y), recipe.batch_size, epochs,
                            seed=args.seed, augment=recipe.augment() if recipe.augment else None,
                            backup_dir=args.backup / f"network-{member + 1}" if args.backup else None,
                            after_epoch=_crash_after(args.crash_after_epoch))
        weights.update({f"network{member}_{i}": w for i, w in enumerate(model.get_weights())})
        history.append({"losses": result.losses, "epoch_seconds": result.epoch_seconds,
                        "resumed_from": result.resumed_from})
    with files.atomic_write(args.out / f"worker-{index}.npz") as partial:
        np.savez(partial, **weights)
    files.write_text(args.out / f"worker-{index}.json", json.dumps(
        {"worker": index, "strategy": describe(strategy), "images": len(x),
         "global_batch": recipe.batch_size, "epochs": epochs, "networks": history}, indent=1))
    return 0


def _end_with_launcher(pid: int) -> None:
    """Be killed when process ``pid``, which started this worker, dies, however it dies
    (Linux; elsewhere the launcher's own clean-up is all there is)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != pid:  # it died before this line: the signal will not come
        raise SystemExit(1)


def _crash_after(epoch: int | None):
    """What ``train_loop`` calls after each epoch: nothing, or death once ``epoch`` is kept."""
    def after_epoch(number: int) -> None:
        if number == epoch:
            os.kill(os.getpid(), signal.SIGKILL)

    return after_epoch if epoch else None


def _cause(message: str) -> str:
    """TensorFlow's error message in one line: its cause, without the graph's node names."""
    message = re.sub(r"{{.*?}}\s*", "", message).split("The error could be from")[0]
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "aborted by" in line), len(lines) - 1)
    return " ".join(lines[max(start, 0):])[:400]


def main() -> int:
    """Run one worker; a failure is one line saying what happened, and exit code 1."""
    from helpers.startup import start_tensorflow

    tf = start_tensorflow()
    try:
        return worker_main()
    except (CourseError, tf.errors.OpError) as exc:
        print(f"stopped: {type(exc).__name__}: {_cause(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
