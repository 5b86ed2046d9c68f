"""Screenshots of what students and instructors see, with headless Chromium.

    python scripts/screenshots.py OUT_DIR [--data-dir D]

Grades a small class (the reference, alice, bob, a copy of bob, a submission gated by the policy
check, one whose plugin does not load, and the fixtures in real student shapes) in one batch,
then takes full-page screenshots of bob's report, the gated submission's report, the load
failure's report and the class overview into OUT_DIR. Headless Chromium's ``--screenshot``
shoots a window, not a page: each page is shot in a window taller than it and cut at the end of
its content. Needs Chromium (Debian: apt-get install chromium) and Pillow.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASS = {"ref": ROOT / "reference", "alice": ROOT / "submissions" / "alice",
         "bob": ROOT / "submissions" / "bob", "bob_copy": ROOT / "submissions" / "bob",
         "torch_user": ROOT / "tests" / "fixtures" / "submissions" / "torch_user",
         **{p.name: p for p in (ROOT / "tests" / "fixtures" / "student").iterdir()
            if p.is_dir()}}
PAGES = {"report-bob.png": "bob/report.html", "report-gated.png": "torch_user/report.html",
         "report-load-failure.png": "renamed_argument/report.html", "overview.png": "index.html"}
MAX_HEIGHT = 40000


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or \
        shutil.which("google-chrome")


def shoot(browser: str, page: Path, png: Path, height: int = 4000) -> None:
    """The whole page: shot in ever taller windows until the bottom of one is blank, then cut
    below the last row that is not the page's background."""
    from PIL import Image, ImageChops

    while True:
        # Chromium puts a socket in its temp directory, and a socket's path may not exceed 107
        # bytes: a deep TMPDIR (a test's) aborts it. A short one of its own, removed after.
        with tempfile.TemporaryDirectory(prefix="shot", dir="/tmp") as own:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                            "--hide-scrollbars", f"--user-data-dir={own}",
                            f"--window-size=1200,{height}", f"--screenshot={png}",
                            page.as_uri()], check=True, capture_output=True, timeout=300,
                           env={**os.environ, "TMPDIR": own})
        image = Image.open(png).convert("RGB")
        background = Image.new("RGB", image.size, image.getpixel((image.width - 1,
                                                                   image.height - 1)))
        box = ImageChops.difference(image, background).getbbox()
        bottom = box[3] if box else image.height
        if bottom < image.height - 40 or height >= MAX_HEIGHT:
            image.crop((0, 0, image.width, min(bottom + 24, image.height))).save(png)
            return
        height = min(2 * height, MAX_HEIGHT)


def renamed_argument(into: Path) -> None:
    """bob with one hook argument renamed: a plugin that does not load."""
    shutil.copytree(ROOT / "submissions" / "bob", into,
                    ignore=shutil.ignore_patterns("__pycache__"))
    plugin = into / "harness_plugin.py"
    plugin.write_text(plugin.read_text().replace("def harness_forward(model, x):",
                                                 "def harness_forward(model, inputs):")
                      .replace("return model.forward(x)", "return model.forward(inputs)"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data-dir")
    parser.add_argument("--rubric")
    parser.add_argument("--quick", action="store_true", help="quick grades (faster, fewer figures)")
    args = parser.parse_args(argv)
    browser = chromium()
    if browser is None:
        print("screenshots: Chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cls = Path(tmp) / "class"
        for name, src in CLASS.items():
            shutil.copytree(src, cls / name, ignore=shutil.ignore_patterns("__pycache__"))
        renamed_argument(cls / "renamed_argument")
        graded = args.out / "graded"
        cmd = [sys.executable, "-m", "harness", "grade", str(cls), "--jobs", "2",
               "--out", str(graded)] + (["--quick"] if args.quick else [])
        cmd += ["--data-dir", args.data_dir] if args.data_dir else []
        cmd += ["--rubric", args.rubric] if args.rubric else []
        subprocess.run(cmd, capture_output=True, timeout=3600)
    for png, page in PAGES.items():
        shoot(browser, graded / page, args.out / png)
        print(f"wrote {args.out / png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
