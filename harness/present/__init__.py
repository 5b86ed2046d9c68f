"""What people see: the HTML report, the class overview and gradebook, the figures, the
similarity listing and the terminal progress lines.

Everything here reads results documents (``results.json`` and the arrays beside it), never a
running grade's internals, so a report can be rendered again without regrading.

May import: ``harness.files``, ``harness.hookspecs``, ``harness.templates``; matplotlib and
Jinja. Never the sandbox or the checks.
"""
