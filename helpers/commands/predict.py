"""What ``cnn-course predict`` does: read digits from image files with a saved model, and
score them against labels (overall, per group, and the confusions)."""
from __future__ import annotations

import sys
from pathlib import Path

UNSURE_BELOW = 0.5  # a top probability this low often means: not one clear digit


def read_digits(model_path: Path, names: list[str]) -> list[dict]:
    """Each image's predicted digit, its probability and the top 3, or the error it gave."""
    import numpy as np

    from helpers import export, preprocessing
    from helpers.errors import ImageError, ModelError

    model = export.load_model(model_path)
    if tuple(model.input_shape[1:]) != (28, 28, 1) or model.output_shape[-1] != 10:
        raise ModelError(f"{model_path}: takes inputs shaped {model.input_shape[1:]} and gives "
                         f"{model.output_shape[-1]} outputs, not a digit reader for 28x28 "
                         "MNIST images; use a model from notebook 03 or `cnn-course train`.")
    inputs, results = [], []
    for name in names:
        try:
            inputs.append(preprocessing.to_mnist(Path(name), name))
            results.append({"file": name})
        except ImageError as exc:
            results.append({"file": name, "error": str(exc)})
        except Exception as exc:  # one image's unforeseen fault must not lose the others
            results.append({"file": name, "error": f"{name}: could not be read "
                                                   f"({type(exc).__name__}: {exc})."})
    ok = [r for r in results if "error" not in r]
    if ok:
        probabilities = model.predict(np.stack(inputs), verbose=0)
        for result, p in zip(ok, probabilities):
            top = np.argsort(p)[::-1][:3]
            result.update(digit=int(top[0]), probability=round(float(p[top[0]]), 4),
                          top3=[{"digit": int(d), "probability": round(float(p[d]), 4)}
                                for d in top])
    return results


def describe_prediction(result: dict) -> str:
    top3 = ", ".join(f"{t['digit']} {t['probability']:.1%}" for t in result["top3"])
    unsure = "  (unsure: is this one clear digit?)" if result["probability"] < UNSURE_BELOW else ""
    return f"{result['file']}: {result['digit']} ({result['probability']:.1%})  top 3: {top3}{unsure}"


def report_labelled(results: list[dict], as_json: bool) -> int:
    """Accuracy on labelled images, overall and per group, and the confusions."""
    import json

    from helpers import own_digits

    read = [r for r in results if "error" not in r]
    failed = [r for r in results if "error" in r]
    summary = own_digits.score([r["label"] for r in read], [r["digit"] for r in read],
                               [r["group"] for r in read]) if read else None
    if as_json:
        print(json.dumps({"results": results, "score": summary}))
        return 1 if failed or not read else 0
    for result in results:
        if "error" in result:
            print(f"cnn-course predict: {result['error']}", file=sys.stderr)
        elif result["digit"] != result["label"]:
            print(f"{result['file']}: read {result['digit']}, labelled {result['label']}")
    if summary:
        print(own_digits.format_score(summary))
    if failed:
        print(f"{len(failed)} labelled image(s) could not be read (above).")
    return 1 if failed or not read else 0
