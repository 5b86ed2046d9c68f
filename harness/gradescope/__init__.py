"""Gradescope: the autograder zip the harness builds, and results.json in Gradescope's schema.

May import: ``harness.grading`` (to grade), ``harness.files``; nothing of the sandbox directly.
"""
