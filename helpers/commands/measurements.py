"""What each notebook measured, read from its own variables once it has run.

``cnn-course run`` adds one last cell to the copy of a notebook it executes; that cell reads
the expressions below in the notebook's namespace and records their values in
``metrics.json`` (``helpers.report.record_measured``). The notebooks themselves carry no
recording calls: their cells read like Keras. An expression that gives a dict records one
number per item, named NAME followed by the item's key (so NAME ends in ``_``, or is empty
when the keys are whole names); one that gives
``None`` records nothing (a part that did not run here, such as a GPU's).
"""
from __future__ import annotations

MEASURED: dict[str, dict[str, str]] = {
    "01_data": {
        "train_images": "len(x_train)",
        "test_images": "len(x_test)",
        "class_imbalance_ratio": "imbalance",
        "fraction_background_pixels": "fraction_zero",
        "nearest_template_accuracy": "nearest_template_accuracy",
        "fit_images": "len(x_fit)",
        "validation_images": "len(x_val)",
    },
    "02_building_blocks": {
        "article_parameters": "total_params",
        "receptive_field": "fields[-1][1]",
        "numpy_vs_keras_max_difference": "model_difference",
    },
    "03_build_and_train": {
        "hand_step_loss_before": "float(loss)",
        "hand_step_loss_after": "loss_after",
        "seconds_per_epoch": "seconds_per_epoch",
        "cosine_decay_val_accuracy_now": "decay.accuracy",
        "val_accuracy": "val_accuracy",
        "val_accuracy_seed": "seed_accuracy",
        "val_accuracy_cosine_decay": "decay_accuracy",
        "cosine_decay_from_checkpoint": "float(decay.loaded)",
        "test_accuracy": "test_accuracy",
    },
    "04_evaluate_and_inspect": {
        "test_accuracy": "test_accuracy",
        "most_confused_true": "true_digit",
        "most_confused_predicted": "predicted_digit",
        "most_confused_count": "count",
        "worst_recall_digit": "worst_recall",
        "worst_recall": "scores['recall'].min()",
        "saliency_on_ink": "ink_share",
        "saliency_ink_area": "ink_area",
        "score_to_probability_gradient": "globals().get('ratio')",
    },
    "05_data_augmentation": {
        "experiment_from_checkpoints": "loaded",
        "val_accuracy_no_aug": "table.loc[smallest, 'without']",
        "val_accuracy_aug": "table.loc[smallest, 'with']",
        "aug_gain_smallest": "gap_small",
        "aug_gain_largest": "gap_large",
        "best_test_accuracy": "best_accuracy",
        "best_member_test_accuracy_": "dict(enumerate(member_accuracies, 1))",
        "best_training_seconds": "best_run.seconds",
        "best_from_checkpoint": "float(best_run.loaded)",
    },
    "06_transfer_learning": {
        "source_test_accuracy": "source_accuracy",
        "": "{f\"{method.replace(' ', '_').replace('-', '_')}_{row['images per class']}\": "
            "row[method] for row in rows "
            "for method in ('from scratch', 'frozen features', 'fine-tuned')}",
        "flowers_frozen_accuracy": "globals().get('frozen_photo_accuracy')",
        "flowers_fine_tuned_accuracy": "globals().get('fine_photo_accuracy')",
    },
    "07_architectures": {
        "architectures_from_checkpoints": "loaded",
        "val_accuracy_": "{slug(row['architecture']): row['validation accuracy'] "
                        "for row in results}",
        "faster_": "{f'{i}_val_accuracy': accuracy for i, accuracy "
                  "in enumerate(speed_table['validation accuracy'])}",
        "fast_val_accuracy": "fast_accuracy",
        "fast_seconds": "fast_run.seconds",
    },
    "08_your_own_digits": {
        "naive_accuracy": "comparison.loc['all', 'naive resize']",
        "preprocessed_accuracy": "comparison.loc['all', 'MNIST-style preprocessing']",
        "fast_model_accuracy": "comparison.loc['all', 'the same, fast model']",
        "preprocessed_accuracy_": "comparison['MNIST-style preprocessing'].drop('all').to_dict()",
        "fast_model_accuracy_": "comparison['the same, fast model'].drop('all').to_dict()",
        "tflite_max_difference": "lite_difference",
        "latency_keras_ms": "latency['model(x)']",
        "latency_tflite_ms": "latency['TensorFlow Lite']",
    },
    "09_scaling_up": {
        "input_seconds": "timings['input alone']",
        "compute_seconds": "timings['compute alone']",
        "plain_pipeline_seconds": "timings['both: map, batch, map']",
        "parallel_pipeline_seconds": "timings['+ parallel map']",
        "prefetch_pipeline_seconds": "timings['+ prefetch']",
        "cached_pipeline_seconds": "timings['+ cache (after the first epoch)']",
        "cached_input_seconds": "timings['input alone, cached']",
        "batch_": "{f\"{batch}_images_per_second\": rate "
                 "for batch, rate in batches['images per second'].items()}",
        "activation_bytes_float32": "memory['float32']",
        "activation_bytes_mixed_bfloat16": "memory['mixed_bfloat16']",
        "step_ms_": "{policy: seconds * 1000 for policy, seconds in step.items()}",
        "val_accuracy_": "precision['validation accuracy'].to_dict()",
        "mirrored_loss_difference": "float(difference.max())",
        "images_per_second_one_device": "fit_per_second['one device']",
        "images_per_second_mirrored": "fit_per_second['mirrored']",
        "resumed_from_epoch": "history['resumed_from']",
        "workers_weight_difference": "workers_difference",
        "workers_loss_difference": "float(relative.max())",
        "images_per_second_two_workers": "workers_per_second",
        "images_per_second_loop_mirrored": "loop_per_second",
        "backup_restore_difference": "backup_difference",
        "gpu_images_per_second": "globals().get('throughput', {}).get('/GPU:0')",
        "gpu_speedup": "(lambda t: t and t['/GPU:0'] / t['/CPU:0'])(globals().get('throughput'))",
    },
    "10_cats_dogs_birds": {
        "train_photos": "len(x_train)",
        "hog_val_accuracy": "hog_val_accuracy",
        "hog_test_accuracy": "hog_test_accuracy",
        "small_train_accuracy": "small_train_accuracy",
        "small_val_accuracy": "small_val_accuracy",
        "small_augmented_train_accuracy": "small_augmented_train_accuracy",
        "small_augmented_val_accuracy": "small_augmented_val_accuracy",
        "all_photos_val_accuracy": "all_val_accuracy",
        "test_accuracy": "test_accuracy",
        "transfer_": "{f'{budget}_accuracy': transfer.loc[budget, 'fine-tuned'] for budget in BUDGETS}",
        "frozen_": "{f'{budget}_accuracy': transfer.loc[budget, 'frozen features'] for budget in BUDGETS}",
        "scratch_": "{f'{budget}_accuracy': transfer.loc[budget, 'from scratch'] for budget in BUDGETS}",
        "imagenet_100_accuracy": "imagenet_accuracy",
        "photo_checkpoints_loaded": "sum(run.loaded for run in (augmented_run, cured_run, all_run, seven_run))",
    },
}


def measuring_cell(stem: str) -> str:
    """The code of the cell the runner adds at the end of notebook ``stem``."""
    expressions = MEASURED.get(stem, {})
    return ("# Added by `cnn-course run`: what this notebook measured, read from its variables\n"
            "# (helpers/commands/measurements.py) for metrics.json.\n"
            "from helpers import report\n"
            f"report.record_measured({expressions!r}, globals())\n")
