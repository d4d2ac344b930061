"""Checked exercises: ``check(key, answer)`` says at once whether an answer is right, and if
not, what is wrong; ``cnn-course learners-copy`` (:mod:`helpers.commands.learners`) writes the
notebooks without their solutions.

In a notebook, a checked exercise is one code cell::

    parameters_5x5 = ...          # your answer
    ### BEGIN SOLUTION
    parameters_5x5 = ...          # the solution (removed from the learners' copy)
    ### END SOLUTION
    check("02.2", parameters_5x5)

The learners' copy keeps the first line and the ``check`` call, and drops the solution
block and every ``<details><summary>Solution</summary>`` answer in the text. Every check
records its verdict for the run report, so the test suite knows each solution passes.

The checks of notebook NN's exercises are in ``helpers.exercises.notebookNN``.
"""
from __future__ import annotations

from helpers.checking import EXERCISES, check, verdict
from helpers.exercises import (  # noqa: F401 (importing each registers its notebook's checks)
    notebook01, notebook02, notebook03, notebook04, notebook05, notebook06, notebook07,
    notebook08, notebook09)
from helpers.exercises.notebook08 import example_ink

__all__ = ["EXERCISES", "check", "example_ink", "verdict"]
