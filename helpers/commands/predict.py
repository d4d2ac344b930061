"""What ``cnn-course predict`` does: read digits (or, with a photo model whose card names its
classes, photos) from image files with a saved model, and score digits against labels
(overall, per group, and the confusions)."""
from __future__ import annotations

import sys
from pathlib import Path

UNSURE_BELOW = 0.5  # a top probability this low often means: not one clear digit


def _reader(model, model_path: Path):
    """How to read an image for this model, and its classes' names: MNIST-style digits for
    a 28x28 grey model with ten outputs, else colour photos named by the model's card."""
    from helpers import pictures, preprocessing
    from helpers.errors import ModelError
    from helpers.model_card import CardError, ModelCard

    shape, outputs = tuple(model.input_shape[1:]), model.output_shape[-1]
    if shape == (28, 28, 1) and outputs == 10:
        return preprocessing.to_mnist, None
    try:
        classes = ModelCard.read(model_path).classes
    except CardError:
        classes = None
    if len(shape) == 3 and shape[-1] == 3 and classes and len(classes) == outputs:
        return (lambda image, name: pictures.load_photo(image, shape[:2], name)), list(classes)
    raise ModelError(f"{model_path}: takes inputs shaped {shape} and gives {outputs} outputs: "
                     "neither a digit reader for 28x28 MNIST images nor a photo model whose "
                     "card names its classes; use a model from notebook 03 or 10, or "
                     "`cnn-course train`.")


def read_digits(model_path: Path, names: list[str]) -> list[dict]:
    """Each image's prediction, its probability and the top 3, or the error it gave: a
    digit (``"digit"``) for a digit model, a class name (``"class"``) for a photo model."""
    import numpy as np

    from helpers import export
    from helpers.errors import ImageError

    model = export.load_model(model_path)
    read, classes = _reader(model, Path(model_path))
    key = "digit" if classes is None else "class"
    label = (lambda index: int(index)) if classes is None else (lambda index: classes[index])
    inputs, results = [], []
    for name in names:
        try:
            inputs.append(read(Path(name), name))
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
            result.update({key: label(top[0]), "probability": round(float(p[top[0]]), 4),
                           "top3": [{key: label(d), "probability": round(float(p[d]), 4)}
                                    for d in top]})
    return results


def describe_prediction(result: dict) -> str:
    key = "digit" if "digit" in result else "class"
    top3 = ", ".join(f"{t[key]} {t['probability']:.1%}" for t in result["top3"])
    unsure = (f"  (unsure: is this one clear {'digit' if key == 'digit' else 'photo of one of them'}?)"
              if result["probability"] < UNSURE_BELOW else "")
    return f"{result['file']}: {result[key]} ({result['probability']:.1%})  top 3: {top3}{unsure}"


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
