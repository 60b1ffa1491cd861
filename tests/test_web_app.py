"""The web app in headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium), checking what a person sees: a user's history and reasons, similar movies, and a new
user whose list turns from popular to personal after rating a movie. The last screen is saved
to ``test-artifacts/web_app.png``."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import uvicorn

from recsys.serving import ServeConfig
from recsys.serving.app import create_app, uvicorn_server
from tests._paths import REPO

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
    "chromium-driver; .ci/run installs them)",
)
ARTIFACT = REPO / "test-artifacts" / "web_app.png"


@pytest.fixture
def base_url(pipeline_lake, tmp_path):
    root = tmp_path / "lake"
    shutil.copytree(pipeline_lake.root, root, ignore=shutil.ignore_patterns("_eval", "_models"))
    app = create_app(str(root), ServeConfig(reload_seconds=0))
    ports: list[int] = []
    ready = threading.Event()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn_server(config, lambda port: (ports.append(port), ready.set()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert ready.wait(60), "uvicorn did not start"
    yield f"http://127.0.0.1:{ports[0]}"
    server.should_exit = True
    thread.join(30)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def test_a_person_browses_and_a_new_user_gets_personal_recommendations(base_url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    texts = lambda css: [e.text for e in browser.find_elements(By.CSS_SELECTOR, css)]  # noqa: E731
    browser.get(base_url + "/")
    wait.until(lambda d: "users" in d.find_element(By.ID, "status").text)

    # a known user: history next to recommendations with reasons
    browser.find_element(By.ID, "user-id").send_keys("1")
    browser.find_element(By.ID, "load-user").click()
    wait.until(lambda d: len(texts("#recs li .reason")) == 10)
    assert browser.find_element(By.ID, "kind").text == "batch"
    assert all(r.startswith("because you rated ") for r in texts("#recs li .reason"))
    assert texts("#history li .title")

    # a click on a movie shows movies like it
    first = browser.find_element(By.CSS_SELECTOR, "#recs li .title")
    title = first.text
    first.click()
    wait.until(lambda d: d.find_element(By.ID, "similar-title").text == f"Similar to {title}")
    assert texts("#similar li .title")

    # a new user starts with the popular list, rates a movie, and gets a personal list
    browser.find_element(By.ID, "new-user").click()
    wait.until(lambda d: d.find_element(By.ID, "kind").text == "cold-start")
    assert all(r.startswith("popular ") for r in texts("#recs li .reason"))
    liked = browser.find_element(By.CSS_SELECTOR, "#recs li .title").text
    browser.find_element(By.ID, "search").send_keys(liked[:8])
    wait.until(lambda d: liked in texts("#search-results li .title"))
    row = next(li for li in browser.find_elements(By.CSS_SELECTOR, "#search-results li")
               if li.find_element(By.CSS_SELECTOR, ".title").text == liked)  # fmt: skip
    row.find_element(By.CSS_SELECTOR, '.rate button[data-rating="5"]').click()
    wait.until(lambda d: d.find_element(By.ID, "kind").text == "fold-in")
    assert "saved" in browser.find_element(By.ID, "status").text
    assert texts("#history li .title") == [liked]
    reasons = texts("#recs li .reason")
    assert reasons and all(r == f"because you rated {liked} 5/5" for r in reasons)
    assert liked not in texts("#recs li .title")
    ARTIFACT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACT)) and Path(ARTIFACT).stat().st_size > 10_000
