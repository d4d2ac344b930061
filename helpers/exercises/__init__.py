"""Checked exercises: ``check(key, answer)`` says at once whether an answer is right, and if
not, what is wrong; ``hint(key)`` gives a hint and ``solution(key)`` shows a worked answer.

In a notebook, a checked exercise is one code cell::

    parameters_5x5 = ...   # your answer
    field_5x5 = ...        # your answer
    check("02.2", (parameters_5x5, field_5x5))
    # hint("02.2")      # uncomment and run for a hint
    # solution("02.2")  # uncomment and run for the worked answer

Notebook NN's checks, hints and worked answers are in ``helpers.exercises.notebookNN``: the
worked answer of a checked exercise is code that replaces everything above its ``check``
line (:mod:`helpers.commands.solutions`), which is how ``cnn-course run`` and the tests run
every exercise solved. Every check records its verdict for the run report, so the test
suite knows each worked answer passes.
"""
from __future__ import annotations

from helpers.checking import EXERCISES, HINTS, SOLUTIONS, check, hint, solution, verdict
from helpers.exercises import (  # noqa: F401 (importing each registers its notebook's checks)
    notebook01, notebook02, notebook03, notebook04, notebook05, notebook06, notebook07,
    notebook08, notebook09, notebook10)
from helpers.exercises.notebook08 import example_ink

__all__ = ["EXERCISES", "HINTS", "SOLUTIONS", "check", "example_ink", "hint", "solution",
           "verdict"]
