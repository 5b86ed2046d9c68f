"""Grading one submission: context, settings, rubric, pipeline, results."""
