"""The course as a learner opens it: JupyterLab in a real browser (Debian's chromium, driven
by Playwright), notebook 01 run from the menu, and notebook 08's drawing pad used with the
mouse. `make test-browser`; screenshots of every step land in build/browser/."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import paths
from helpers.checkpoints import CHECKPOINT_ENV
from helpers.paths import MODEL_ENV
from helpers.speed import SPEED_ENV

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
KERNEL_NAME = "Python 3 (cnn-course)"
SHOTS = paths.BUILD_DIR / "browser"
RUN_LIMIT_S = 600  # notebook 08 in full mode, training its models if none are saved


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _user_settings(folder: Path) -> None:
    """JupyterLab settings for a test: every cell in the page (no windowing), no news."""
    for plugin, values in {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory, machine_speed):
    """JupyterLab on a free 127.0.0.1 port with a token, serving a copy of the notebooks
    (so the course's own stay without outputs); notebook 08 saves drawings in the copy, and
    its model in a models folder of the test's (it starts as a fresh clone: no model, no
    checkpoints)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no browser at {CHROMIUM}: install Debian's chromium "
                    "(apt-get install chromium), or set CHROMIUM to its path")
    pytest.importorskip("playwright", reason="pip install -e '.[dev]' installs playwright")
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(paths.NOTEBOOK_DIR, root / "notebooks")
    my_digits = root / "my_digits"
    notebook = root / "notebooks" / "08_your_own_digits.ipynb"
    text = notebook.read_text()
    assert "MY_DIGITS = paths.OWN_DIGITS_DIR" in text
    notebook.write_text(text.replace("MY_DIGITS = paths.OWN_DIGITS_DIR",
                                     f"MY_DIGITS = Path({str(my_digits)!r})"))
    _user_settings(root / "settings")
    port, token = _free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root / 'notebooks'}",
               f"--LabApp.workspaces_dir={root / 'workspaces'}"]
    if os.geteuid() == 0:  # CI runs as root; JupyterLab refuses root unless told
        command.append("--allow-root")
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"), MODEL_ENV: str(root / "models"),
           CHECKPOINT_ENV: str(root / "checkpoints"), SPEED_ENV: str(machine_speed)}
    log = (root / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (root / "jupyterlab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield {"url": url, "token": token, "my_digits": my_digits}
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Lab:
    """One notebook open in JupyterLab, with the steps a learner takes."""

    def __init__(self, browser, lab, notebook: str):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.stem = Path(notebook).stem[:2]
        # a workspace of its own, reset: only this notebook open, whatever ran before
        self.page.goto(f"{lab['url']}/lab/workspaces/nb{self.stem}/tree/{notebook}"
                       f"?reset&token={lab['token']}")
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        # the status bar says "<kernel> | Idle" once the kernel has started
        self.page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(
            timeout=90_000)

    def shot(self, step: str) -> None:
        self.page.screenshot(path=SHOTS / f"{self.stem}_{step}.png", full_page=False)

    def kernel_name(self) -> str:
        return self.page.locator(".jp-NotebookPanel-toolbar .jp-KernelName, "
                                 ".jp-NotebookPanel-toolbar .jp-Toolbar-kernelName").first.inner_text()

    def run_all(self) -> None:
        self.page.locator(".jp-NotebookPanel .jp-Cell").first.click()  # this notebook, focused
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:  # until every cell has run, or one has failed (and stopped the run)
            self.page.wait_for_function(
                "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
                " return document.querySelector(\"[data-mime-type='application/vnd.jupyter.stderr']\")"
                " || (p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent))); }",
                timeout=RUN_LIMIT_S * 1000, polling=1000)
        finally:
            self.shot("ran")

    def errors(self) -> list[str]:
        return self.page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()

    def figures(self) -> int:
        return self.page.locator(".jp-OutputArea-output img").count()


def test_notebook_01_runs_in_jupyterlab_with_the_course_kernel(browser, lab):
    learner = Lab(browser, lab, "01_data.ipynb")
    learner.shot("opened")
    assert learner.kernel_name() == KERNEL_NAME
    learner.run_all()
    assert learner.errors() == []
    assert learner.figures() >= 3
    learner.page.close()


def _draw(page, canvas, strokes) -> None:
    """Draw polylines given in 0-1 canvas coordinates with real mouse events."""
    box = canvas.bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=15)
        page.mouse.up()
    page.wait_for_timeout(1000)  # the last mouse events reach the kernel


ONE = [[(0.42, 0.25), (0.55, 0.12), (0.55, 0.88)]]
SEVEN = [[(0.25, 0.18), (0.75, 0.18), (0.45, 0.88)]]


def test_notebook_08_reads_digits_drawn_with_the_mouse(browser, lab):
    learner = Lab(browser, lab, "08_your_own_digits.ipynb")
    assert learner.kernel_name() == KERNEL_NAME
    learner.run_all()
    assert learner.errors() == []
    page = learner.page
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page.get_by_text("Loading widget").count() == 0
    pad = page.locator(".jp-OutputArea-output .widget-vbox").filter(
        has=page.locator("canvas")).first
    pad.scroll_into_view_if_needed()
    canvas = pad.locator("canvas").last
    assert canvas.bounding_box()["width"] >= 250
    learner.shot("pad")
    for digit, strokes in ((1, ONE), (7, SEVEN)):
        pad.get_by_role("button", name="Clear").click()
        _draw(page, canvas, strokes)
        pad.get_by_role("button", name="Read it").click()
        answer = pad.get_by_text("The model reads your drawing as a")
        answer.wait_for(timeout=30_000)
        learner.shot(f"read_{digit}")
        assert f"as a {digit} (" in answer.inner_text(), answer.inner_text()
    pad.locator("select").select_option("7")
    pad.get_by_role("button", name="Save as example").click()
    pad.get_by_text("Saved").wait_for(timeout=30_000)
    learner.shot("saved")
    saved = list((lab["my_digits"] / "7").glob("*.png"))
    assert len(saved) == 1 and saved[0].stat().st_size > 0
    page.close()
