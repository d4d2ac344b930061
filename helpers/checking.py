"""The machinery of checked exercises: a registry of checks, and ``check(key, answer)``,
which says at once whether an answer is right and, if not, what is wrong. The checks
themselves are in :mod:`helpers.exercises`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from helpers import report

Verdict = str | None  # None: right; otherwise what is wrong, in a sentence


@dataclass(frozen=True)
class Exercise:
    key: str                                # "NN.k": notebook NN, exercise k
    verdict: Callable[..., Verdict]         # (answer, **context) -> None or what is wrong
    done: str                               # what the learner has shown, said when right


EXERCISES: dict[str, Exercise] = {}
SOLUTIONS: dict[str, str] = {}  # key -> the worked answer (code for a checked exercise)
HINTS: dict[str, str] = {}      # key -> a hint, for every checked exercise


def answers(solutions: dict[str, str], hints: dict[str, str]) -> None:
    """Register a notebook's worked answers and hints."""
    SOLUTIONS.update(solutions)
    HINTS.update(hints)


def exercise(key: str, done: str):
    """Register the decorated function as the verdict of exercise ``key``."""
    def register(verdict: Callable[..., Verdict]) -> Callable[..., Verdict]:
        EXERCISES[key] = Exercise(key, verdict, done)
        return verdict

    return register


def verdict(key: str, answer: Any, **context) -> Verdict:
    """None when ``answer`` to exercise ``key`` is right, else what is wrong."""
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; the course has {', '.join(sorted(EXERCISES))}")
    if answer is Ellipsis or (isinstance(answer, tuple) and Ellipsis in answer):
        return "replace the `...` with your answer, then run the cell again."
    try:
        return EXERCISES[key].verdict(answer, **context)
    except Exception as exc:  # the learner's code failed inside the check
        return f"your answer raised {type(exc).__name__}: {exc}"


def check(key: str, answer: Any, **context) -> None:
    """Print whether ``answer`` to exercise ``key`` is right (and what is wrong if not)."""
    problem = verdict(key, answer, **context)
    report.record(f"exercise_{key}", float(problem is None))
    if problem is None:
        report.announce(f"✓ {key} right: {EXERCISES[key].done}")
    else:
        report.announce(f"✗ {key} not yet: {problem} (Stuck? hint(\"{key}\") gives a hint.)")


def _known(key: str, table: dict[str, str], what: str) -> str:
    if key not in table:
        raise KeyError(f"no {what} for {key!r}; there are {what}s for {', '.join(sorted(table))}")
    return table[key]


def hint(key: str) -> None:
    """Print the hint of exercise ``key``."""
    report.announce(f"Hint {key}: {_known(key, HINTS, 'hint')} "
                    f"(solution(\"{key}\") shows a worked answer.)")


def solution(key: str) -> None:
    """Show the worked answer of exercise ``key``: the code of a checked exercise (any code
    that passes its check is right), or one answer to an open question."""
    text = _known(key, SOLUTIONS, "solution")
    shown = f"```python\n{text}\n```" if key in EXERCISES else text
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Markdown(f"**Solution {key}**\n\n{shown}"))
    else:
        report.announce(f"Solution {key}:\n{text}")


# --------------------------------------------------------------------------- helpers


def answer_near(answer, expected: float, rel: float = 1e-2, abs_: float = 1e-9,
            wrong: dict[float, str] | None = None) -> Verdict:
    """A numeric answer close to ``expected``; ``wrong`` maps typical mistakes to advice."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return f"expected a number, got {type(answer).__name__}."
    if math.isclose(value, expected, rel_tol=rel, abs_tol=abs_):
        return None
    for mistake, advice in (wrong or {}).items():
        if math.isclose(value, mistake, rel_tol=rel, abs_tol=abs_):
            return advice
    return f"{value:g} is not it; " + ("it is smaller." if value > expected else "it is larger.")


def answer_pair(answer, expected: tuple, names: tuple, wrong: tuple) -> Verdict:
    """A pair of numbers, each checked with ``answer_near`` and its typical mistakes."""
    try:
        first, second = (float(value) for value in answer)
    except (TypeError, ValueError):
        return f"give two numbers in parentheses: ({names[0]}, {names[1]})."
    if all(answer_near(v, e) is None for v, e in zip((second, first), expected)):
        return f"the two are swapped: give ({names[0]}, {names[1]})."
    for value, right, name, mistakes in zip((first, second), expected, names, wrong):
        problem = answer_near(value, right, rel=1e-2 if right % 1 else 0, wrong=mistakes)
        if problem:
            return f"{name}: {problem}"
    return None


def same_array(ours, theirs, what: str, atol: float = 1e-5) -> Verdict:
    if ours is None:
        return f"{what} returned None: end your function with `return` and the result."
    ours = np.asarray(ours)
    if ours.shape != theirs.shape:
        return f"{what} has shape {ours.shape}; expected {theirs.shape}."
    if not np.allclose(ours, theirs, atol=atol):
        return f"{what} differs by up to {np.abs(ours - theirs).max():.3g}."
    return None


def augments_in_training_only(augment, images: np.ndarray, what: str) -> str | None:
    """What is wrong with an augmentation's behaviour on ``images`` (``what``: "images",
    "photos"): it must keep the batch's shape, change it in training, and leave it alone at
    prediction time. None when it does all three."""
    trained = np.asarray(augment(images, training=True))
    if trained.shape != images.shape:
        return f"it changes the batch's shape to {trained.shape}; augmentation keeps it."
    if np.allclose(trained, images):
        return "in training it changes nothing: are the layers in the Sequential?"
    if not np.allclose(np.asarray(augment(images, training=False)), images):
        return f"at prediction time (training=False) augmentation must leave {what} as they are."
    return None


def probe_images(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
