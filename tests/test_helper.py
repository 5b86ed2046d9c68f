"""The side processes a grade starts (report renderer, the overlay's trainer) never outlive it,
even when the grade itself is killed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux's /proc")
def test_a_helper_dies_with_the_grade_that_started_it():
    grade = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from harness.grading.helper import Helper\n"
         "helper = Helper('timeit', '-n', '1', 'import time; time.sleep(60)')\n"
         "print(helper.process.pid, flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    helper = int(grade.stdout.readline())
    assert _alive(helper)
    os.kill(grade.pid, signal.SIGKILL)  # no cleanup runs in the grade
    grade.wait()
    deadline = time.time() + 5
    while _alive(helper) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(helper)
