"""Browser tests: the app served for real, driven by Debian's headless Chromium.

Fixtures (the dashboard's browser tests reuse them; keep the names):
- ``live_server``: the app on 127.0.0.1 on a free port, served by a threaded WSGI server in this
  process, on the test database and Redis of this worker, with CSRF checks ON (as in
  production). ``live_server.url("/path")`` builds addresses.
- ``browser``: a Selenium WebDriver for /usr/bin/chromium (headless), one per worker, with
  cookies cleared between tests. Downloads land in ``browser.download_dir``.
- ``screenshot(name)``: saves test-artifacts/screenshots/<name>-360.png and -1280.png (full
  page) and fails if the page scrolls sideways at 360 px.
- ``axe_check(driver)``: runs the vendored axe-core on the current page and fails on any
  serious or critical violation.

Without Chromium or chromedriver every test here is skipped, loudly.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_JS = Path(__file__).with_name("vendor") / "axe.min.js"
MISSING = (
    "CHROMIUM OR CHROMEDRIVER NOT FOUND ({}, {}): the browser tests are SKIPPED. Install them "
    "with `apt-get install chromium chromium-driver` (.ci/run does)."
)


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) or shutil.which(path)):
            return MISSING.format(CHROMIUM, CHROMEDRIVER)
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-dev.txt): the browser tests are SKIPPED."
    return None


def pytest_collection_modifyitems(config, items):
    reason = _browser_missing()
    if reason is None:
        return
    warnings.warn(reason, stacklevel=1)
    mark = pytest.mark.skip(reason=reason)
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(mark)


def pytest_terminal_summary(terminalreporter):
    reason = _browser_missing()
    if reason is not None:
        terminalreporter.write_sep("!", reason, red=True, bold=True)


class LiveServer:
    def __init__(self, app, host: str, port: int):
        self.app, self.host, self.port = app, host, port
        self.base = f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base + path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app, database_urls):
    """The app as a browser meets it: a second app instance on the worker's test database,
    with CSRF on, served by werkzeug's threaded server in a background thread."""
    from werkzeug.serving import make_server

    from nibog import create_app

    db_url, redis_url = database_urls
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    served = create_app({
        "SQLALCHEMY_DATABASE_URI": db_url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": True,
        "PUBLIC_BASE_URL": base,
        "STORAGE_LOCAL_PATH": tempfile.mkdtemp(prefix="nibog-live-files-"),
    })
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = make_server("127.0.0.1", port, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(served, "127.0.0.1", port)
    server.shutdown()
    thread.join(5)
    with served.app_context():
        from nibog.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def _driver(live_server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    download_dir = tempfile.mkdtemp(prefix="nibog-downloads-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=en-IN", "--disable-extensions",
                "--no-first-run", "--disable-features=Translate"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {
        "download.default_directory": download_dir,
        "download.prompt_for_download": False,
        "plugins.always_open_pdf_externally": True,
        "intl.accept_languages": "en-IN,en",
    })
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    # A loaded CI machine may still be painting a page when the test looks for an element.
    driver.implicitly_wait(3)
    driver.download_dir = download_dir
    driver.execute_cdp_cmd("Page.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": download_dir})
    yield driver
    driver.quit()
    shutil.rmtree(download_dir, ignore_errors=True)


@pytest.fixture
def browser(_driver, live_server):
    """The worker's Chromium, fresh: no cookies, no downloads, desktop width."""
    _driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    for f in Path(_driver.download_dir).iterdir():
        f.unlink()
    _driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    _driver.set_window_size(1280, 900)
    yield _driver
    _driver.get("about:blank")


def _page_height(driver) -> int:
    return int(driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"))


def _capture(driver, path: Path, width: int) -> int:
    metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    time.sleep(0.15)  # layout settles at the new width
    scroll_width = int(driver.execute_script("return document.documentElement.scrollWidth"))
    metrics["height"] = min(max(_page_height(driver), 400), 8000)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    time.sleep(0.1)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    path.write_bytes(base64.b64decode(shot["data"]))
    return scroll_width


@pytest.fixture
def screenshot(browser, request):
    """``screenshot("booking-review")``: the current page at 360 and 1280 px, full height.
    Fails when the 360 px page is wider than the screen (sideways scrolling on a phone)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> list[Path]:
        paths = []
        for width in (360, 1280):
            path = SCREENSHOTS / f"{name}-{width}.png"
            scroll_width = _capture(browser, path, width)
            paths.append(path)
            if width == 360:
                assert scroll_width <= 360, (
                    f"{name}: the page is {scroll_width}px wide at 360px (sideways scroll)")
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return paths

    return take


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def axe_check():
    """``axe_check(driver)``: axe-core's WCAG 2 A/AA rules and best practices on the current
    page; fails listing every serious or critical violation. Returns the full result."""
    source = _axe_source()

    def check(driver, *, context=None, tags=None):
        """``tags``: axe's rule tags (WCAG 2.1 A/AA and best practices unless given; the parent
        site's phone checks add ``wcag22aa`` for the target-size rule)."""
        if not driver.execute_script("return typeof window.axe !== 'undefined'"):
            driver.execute_script(source)
        driver.set_script_timeout(30)
        result = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            axe.run(arguments[0] || document,
                    {runOnly: {type: "tag", values: arguments[1]}})
               .then(r => done({violations: r.violations.map(v => ({
                   id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " +
                                                    (n.failureSummary || ""))}))}))
               .catch(e => done({error: String(e)}));
            """,
            context, tags or AXE_TAGS,
        )
        assert "error" not in result, result.get("error")
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe on {driver.current_url}:\n" + "\n".join(
            f"- [{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"])
            for v in bad
        )
        return result

    return check


def wait_for(condition, timeout: float = 10.0, interval: float = 0.1):
    """Poll ``condition()`` until truthy (for downloads and scripts); returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        time.sleep(interval)


def wait_for_path(browser, path: str, timeout: float = 10.0) -> None:
    """Wait until the browser is on ``path`` itself: ``/login?next=/admin/x`` also *ends* with
    ``/admin/x``, so a suffix test passes before the sign-in has redirected."""
    wait_for(lambda: urlsplit(browser.current_url).path == path, timeout)
