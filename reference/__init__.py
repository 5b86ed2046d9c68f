"""The reference solution to the assignment: the model answer, and the bar submissions meet.

``harness_plugin.py`` in this directory connects it to the harness's contract, exactly as a
student's plugin file connects a submission.
"""
