"""Training on several devices, and on several machines, with ``tf.distribute``.

- ``split_cpu`` makes a CPU look like several devices, so data parallelism runs on any
  laptop; ``replica_devices`` and ``mirrored_strategy`` use the GPUs instead where there are.
- ``train_loop`` is a training loop written for any strategy: each replica computes the
  loss and gradients of its share of the global batch, the strategy sums the gradients
  across replicas, and every replica applies the same update. It keeps a checkpoint after
  every epoch and resumes from the last one. It is what the workers of a multi-worker
  training run, since Keras' ``fit`` fails under ``MultiWorkerMirroredStrategy`` with the
  course's TensorFlow and Keras (``tests/test_distributed.py`` checks that it still does).
- :mod:`helpers.worker` is the program each worker of a multi-worker training runs.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers import report
from helpers.errors import CourseError

TF_CONFIG_ENV = "TF_CONFIG"   # the cluster and this worker's place in it (tf.distribute's own)
STRATEGIES = ("mirrored", "multiworker")  # what `cnn-course train --distribute` takes


def split_cpu(count: int = 2) -> list[str]:
    """Make the CPU look like ``count`` devices (they share its cores); returns their names.
    Each GPU's memory is then taken as needed, not all at once, so that worker processes
    started from this one find some. Only possible before TensorFlow first uses a device:
    call it before any model."""
    from helpers.startup import start_tensorflow

    tf = start_tensorflow()
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) != count:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
            for gpu in tf.config.list_physical_devices("GPU"):
                tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            raise CourseError(
                f"TensorFlow has started its devices already, so the CPU cannot be split into "
                f"{count} now: split it first (in a notebook, restart the kernel with Kernel > "
                "Restart Kernel and run it from the top).") from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def replica_devices() -> list[str]:
    """The devices a mirrored strategy trains on: every GPU, else the (split) CPU's devices."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def mirrored_strategy():
    """``tf.distribute.MirroredStrategy`` over ``replica_devices()``."""
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(replica_devices())


def describe(strategy) -> dict:
    """The strategy's name, its replicas and the devices it trains on (for a model card)."""
    import tensorflow as tf

    public = ("MultiWorkerMirroredStrategy", "MirroredStrategy", "OneDeviceStrategy")
    name = next((n for n in public if isinstance(strategy, getattr(tf.distribute, n))),
                type(strategy).__name__)
    return {"strategy": name,
            "replicas": int(strategy.num_replicas_in_sync),
            "devices": list(strategy.extended.worker_devices)}


# --------------------------------------------------------------------------- the loop


@dataclass
class LoopResult:
    """What ``train_loop`` did: one loss per epoch, its seconds, and the epochs resumed."""

    losses: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    resumed_from: int = 0          # epochs already done when this run started


def epoch_dataset(images, global_batch: int, seed: int, augment=None):
    """One epoch of ``images`` (a ``tf.data.Dataset`` of image-label pairs) in batches, in an
    order fixed by ``seed`` alone (so a resumed training sees the images in the order the
    interrupted one would have; random augmentation, if any, still differs), the incomplete
    last batch dropped, shared out among workers by batch."""
    import tensorflow as tf

    ds = (images.shuffle(int(images.cardinality()), seed=seed)
          .batch(global_batch, drop_remainder=True))
    if augment is not None:
        ds = ds.map(lambda images, labels: (augment(images, training=True), labels),
                    num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def make_train_step(strategy, model, optimizer, global_batch: int):
    """One distributed training step: a ``tf.function`` taking a distributed batch and
    returning the global batch's mean loss."""
    import keras
    import tensorflow as tf

    loss_per_image = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def replica_step(images, labels):
        with tf.GradientTape() as tape:
            losses = loss_per_image(labels, model(images, training=True))
            # the mean over the GLOBAL batch: the replicas' gradients are then summed
            loss = tf.nn.compute_average_loss(losses, global_batch_size=global_batch)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def train_step(batch):
        per_replica = strategy.run(replica_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return train_step


def _is_chief(strategy) -> bool:
    """Whether this process writes the checkpoints: the only one, or the first worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is None or not resolver.task_type or resolver.task_id == 0


def train_loop(strategy, model, optimizer, train_data, global_batch: int, epochs: int,
               seed: int = 0, backup_dir: str | Path | None = None, augment=None,
               verbose: bool = True, after_epoch=None) -> LoopResult:
    """Train ``model`` (made, like ``optimizer``, under ``strategy.scope()``) on ``(x, y)``.
    With ``backup_dir``, a checkpoint after every epoch, and a start from the last one.
    ``after_epoch(number)`` is called once each epoch is kept."""
    import tensorflow as tf

    train_step = make_train_step(strategy, model, optimizer, global_batch)
    with strategy.scope():
        optimizer.build(model.trainable_variables)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch)
    manager, scratch = None, None
    if backup_dir is not None:
        # Every worker saves (saving can need all of them), only the chief where it lasts.
        if not _is_chief(strategy):
            scratch = Path(backup_dir) / f"worker-{strategy.cluster_resolver.task_id}"
        manager = tf.train.CheckpointManager(checkpoint, str(scratch or backup_dir), max_to_keep=1)
        _restore(checkpoint, backup_dir)
    result = LoopResult(resumed_from=int(epoch.numpy()))
    if result.resumed_from and verbose:
        report.announce(f"resuming after epoch {result.resumed_from}, from {backup_dir}")
    images = tf.data.Dataset.from_tensor_slices(train_data)
    try:
        for number in range(result.resumed_from, epochs):
            started = time.perf_counter()
            batches = strategy.experimental_distribute_dataset(
                epoch_dataset(images, global_batch, seed + number, augment))
            total, steps = 0.0, 0
            for batch in batches:
                total += train_step(batch)
                steps += 1
            epoch.assign(number + 1)
            if manager is not None:
                manager.save()
            result.losses.append(float(total) / steps)
            result.epoch_seconds.append(time.perf_counter() - started)
            if verbose:
                report.announce(f"epoch {number + 1}/{epochs}  loss {result.losses[-1]:.4f}  "
                                f"({result.epoch_seconds[-1]:.1f} s)")
            if after_epoch is not None:
                after_epoch(number + 1)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    optimizer.finalize_variable_values(model.trainable_variables)  # averaged weights, if kept
    return result


def _restore(checkpoint, backup_dir) -> None:
    """Restore the latest checkpoint in ``backup_dir``, if any; one of another training is
    refused with what to do."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(backup_dir))
    if latest:
        try:
            checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError):
            raise CourseError(f"the checkpoint in {backup_dir} is not of this training: "
                              "delete the folder to start it.") from None
