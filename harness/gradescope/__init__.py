"""Gradescope: the autograder zip the harness builds (``build``) and what it runs per
submission (``run``). Gradescope's results format itself is :mod:`harness.present.gradescope`.

May import: ``harness.batch`` and ``harness.grading`` (to grade), ``harness.present``,
``harness.files``.
"""
