"""``cnn-course train``: a recipe trained on all the training images, on one device,
mirrored over this machine's devices, or in worker processes; kept after every epoch so
that the same command resumes it after an interruption; tested once; saved with its model
card."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from helpers import cluster, distributed, export, files, mnist, report
from helpers.errors import CourseError, UsageError
from helpers.model_card import ModelCard, data_fingerprint, refuse_replacing
from helpers.recipes import Recipe, get_recipe
from helpers.training import TrainingRun, ensemble_of, networks, train


def train_and_save(recipe_name: str, path: str | Path, epochs: int | None = None,
                   distribute: str | None = None, workers: int = 2,
                   force: bool = False, allow_network: bool = False) -> ModelCard:
    """Train ``recipe_name`` on all training images of the best available data, measure test
    accuracy once, save the model and a JSON model card beside it; returns the card.

    ``distribute``: on this machine's devices (``"mirrored"``: its GPUs, else its CPU split in
    two) or in ``workers`` processes (``"multiworker"``); the recipe's batch is the global
    batch. The training is kept in ``NAME.backup/`` beside the model after every epoch, so
    the same command run again after an interruption resumes; it is removed once the model
    is saved. Output paths and a backup's settings are checked before training starts, and
    what ``path`` holds is replaced only if the course made it from as many training images
    or more (``force``: whatever it holds)."""
    recipe = get_recipe(recipe_name)
    path = files.check_output_file(path, export.MODEL_SUFFIX, what="model")
    files.check_output_file(path.with_suffix(".json"), ".json", what="model card")
    backup = files.check_output_dir(path.with_name(path.stem + ".backup"), what="backup folder")
    data = mnist.load_mnist()
    (x_train, y_train), (x_test, y_test) = data
    refuse_replacing(path, train_images=len(x_train), force=force)
    epochs = epochs or recipe.epochs
    resumed = resume_or_start(backup, {
        "recipe": recipe.name, "epochs": epochs, "distribute": distribute,
        "workers": workers if distribute == "multiworker" else None,
        "data_source": data.source, "train_images": int(len(x_train))})
    train_data = (mnist.to_model_input(x_train), y_train)
    distribution = None
    if distribute == "mirrored":
        strategy = distributed.mirrored_strategy()
        with strategy.scope():
            run = train(recipe, train_data, epochs=epochs, backup_dir=backup / "keras")
        distribution = distributed.describe(strategy)
    elif distribute == "multiworker":
        run, distribution = _train_on_workers(recipe, epochs, workers, backup, allow_network)
    else:
        run = train(recipe, train_data, epochs=epochs, backup_dir=backup / "keras")
    _, test_accuracy = run.model.evaluate(mnist.to_model_input(x_test), y_test, verbose=0)
    card = ModelCard.for_run(
        path.stem, f"the {recipe.name!r} recipe: {recipe.summary}", "cnn-course train", run,
        settings={"recipe": recipe.name, "epochs": epochs, "networks": recipe.members,
                  "batch_size": recipe.batch_size},
        data={"source": data.source, **data_fingerprint(x_train, y_train)},
        measured={"test_accuracy": round(float(test_accuracy), 5)},
        resumed=resumed, distribution=distribution)
    card.save_with(run.model, path)
    remove_backup(backup)
    return card


def resume_or_start(backup: Path, settings: dict) -> bool:
    """Keep ``settings`` in the backup folder. A folder holding a training with other
    settings, or one the course did not write, is refused: it is that training's, to resume
    or delete. Says, and returns, whether a training resumes."""
    kept = backup / "settings.json"
    delete = f"delete {backup} to start this one"
    if backup.is_dir() and any(backup.iterdir()):
        try:
            earlier = json.loads(kept.read_text())
        except (OSError, ValueError):
            raise UsageError(f"{backup} is not a training this command kept (its settings.json "
                             f"is missing or unreadable): {delete}.") from None
        if earlier != settings and _has_progress(backup):
            differ = ", ".join(f"{k} {earlier.get(k)} (now {v})" for k, v in settings.items()
                               if earlier.get(k) != v)
            raise UsageError(f"{backup} holds an interrupted training with other settings: "
                             f"{differ}. Run that training again to finish it, or {delete}.")
        if _has_progress(backup):
            report.announce(f"Resuming the interrupted training kept in {backup}.")
            return True
    report.announce(f"Keeping the training in {backup} after every epoch: if it stops, the "
                    "same command resumes it.")
    files.write_text(kept, json.dumps(settings, indent=1) + "\n")
    return False


def _has_progress(backup: Path) -> bool:
    """Whether a backup folder holds a kept epoch (not only settings and logs)."""
    return any(p.is_file() for part in ("keras", "workers") for p in (backup / part).rglob("*"))


def remove_backup(backup: Path) -> None:
    """Remove a finished training's backup: renamed first, so that an interruption never
    leaves a half-removed folder under the name a new training would resume from."""
    doomed = backup.with_name(f".{backup.name}.removing")
    shutil.rmtree(doomed, ignore_errors=True)
    os.replace(backup, doomed)
    shutil.rmtree(doomed)


def _train_on_workers(recipe: Recipe, epochs: int, workers: int, backup: Path,
                      allow_network: bool = False):
    """Train in ``workers`` processes on this machine (``helpers.cluster``); returns the
    TrainingRun (the workers' weights combined, worker 0's history) and the distribution,
    for the model card."""
    run = cluster.run_workers(workers, ["--recipe", recipe.name, "--epochs", str(epochs),
                                        "--backup", str(backup / "workers")],
                              backup / "logs", allow_network=allow_network)
    if not run.completed:
        logs = f"logs in {backup / 'logs'}"
        said = cluster.stopped_lines(run)
        if said and not any(code < 0 for code in run.returncodes):  # none killed: it would again
            raise CourseError(f"the training stopped: {said[0]} ({logs}).")
        raise CourseError(f"the training stopped (worker exit codes {run.returncodes}; {logs}): "
                          "run the same command again to resume from its last epoch.")
    members = networks(recipe)
    for index, network in enumerate(members):
        per_worker = [cluster.weights(path, network=index) for path in run.weight_files]
        network.set_weights(cluster.combine(per_worker, [w.trainable for w in network.weights]))
    model = members[0] if len(members) == 1 else ensemble_of(members)
    if len(members) == 1:
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = run.results[0]["networks"]
    seconds = [s for network in history for s in network["epoch_seconds"]]
    losses = {"loss": [loss for network in history for loss in network["losses"]]}
    return TrainingRun(model, losses, seconds), {
        "strategy": "MultiWorkerMirroredStrategy", "workers": workers,
        "addresses": run.addresses, "replicas": run.results[0]["strategy"]["replicas"],
        "devices": [device for result in run.results for device in result["strategy"]["devices"]]}
