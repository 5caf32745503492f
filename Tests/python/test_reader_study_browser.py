"""The reader-study scoring page in a real headless browser (Debian's chromium + chromium-driver, selenium).

Makes a 10-case packet, opens its index.html from disk (no server), enters a reader id, scores 10 cases by
keyboard with a reload half-way (the page must resume from local storage), writes a comment, zooms and
changes window/level, exports JSON and CSV and checks the downloaded files, then feeds the JSON to
`reader-study analyze`.

Needs: selenium (scripts/requirements-test.txt), /usr/bin/chromium and /usr/bin/chromedriver (apt-get install
chromium chromium-driver; `scripts/setup --tests` installs them). Skipped when they are missing, unless
CXRCAPTION_REQUIRE_BROWSER=1 (CI sets it), which makes a missing browser a failure.

    python -m pytest Tests/python/test_reader_study_browser.py -v
"""
import csv
import io
import json
import os
import shutil
import time

import pytest
from cli_support import run_cli
from reader_study_support import make_packet

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def need_browser():
    reason = None
    try:
        import selenium  # noqa: F401
    except ImportError:
        reason = "selenium is not installed (pip install -r scripts/requirements-test.txt)"
    if reason is None and not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        reason = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    if reason:
        if os.environ.get("CXRCAPTION_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; CXRCAPTION_REQUIRE_BROWSER=1 requires them")
        pytest.skip(reason)


@pytest.fixture
def browser(tmp_path):
    need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900", "--user-data-dir=%s" % (tmp_path / "profile")):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(2)
    try:
        yield driver, downloads
    finally:
        driver.quit()


def wait_for_file(folder, suffix, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if done:
            time.sleep(0.2)
            return done[0]
        time.sleep(0.1)
    raise AssertionError("no %s file was downloaded to %s: %s" % (suffix, folder, list(folder.iterdir())))


def test_score_ten_cases_by_keyboard_reload_and_export(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    driver, downloads = browser
    done, packet, key = make_packet(tmp_path, model_cases=5, human_cases=5, seed=3)
    assert done.returncode == 0, done.stderr
    key_cases = json.loads(key.read_text())["cases"]
    driver.get((packet / "index.html").as_uri())

    def press(keys):
        ActionChains(driver).send_keys(keys).perform()

    def text(element_id):
        return driver.find_element(By.ID, element_id).text

    assert text("progress") == "Scored 0 of 10 \u00b7 case 1 of 10"
    assert text("report") == key_cases[0]["text"]
    assert "All conditions identified and accurately described." in text("rubric")
    assert "minor problems outside the chest missed" in text("rubric")
    # The image loaded and was fitted into the viewer.
    image = driver.find_element(By.ID, "image")
    assert driver.execute_script("return arguments[0].naturalWidth", image) > 0
    fitted = image.get_attribute("style")
    driver.find_element(By.ID, "zoom-in").click()
    assert image.get_attribute("style") != fitted
    press("f")
    assert image.get_attribute("style") == fitted
    # Dragging pans (the image moves with the pointer); the wheel zooms.
    ActionChains(driver).move_to_element(driver.find_element(By.ID, "viewer")).click_and_hold() \
        .move_by_offset(40, 25).release().perform()
    panned = driver.execute_script("return getComputedStyle(arguments[0]).transform", image)
    press("f")
    fitted_matrix = driver.execute_script("return getComputedStyle(arguments[0]).transform", image)
    dx = [float(v) for v in panned[7:-1].split(",")][4] - [float(v) for v in fitted_matrix[7:-1].split(",")][4]
    assert dx == pytest.approx(40, abs=1)
    # Nothing is fetched from a network: the page's policy lets the browser load only its own files.
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith("file://") for u in urls), urls
    policy = driver.find_element(By.CSS_SELECTOR, 'meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert "default-src 'none'" in policy and "connect-src" not in policy
    slider = driver.find_element(By.ID, "window")
    driver.execute_script("arguments[0].value = 0.5; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert driver.find_element(By.ID, "wl-r").get_attribute("slope") == "2.0000"
    press("r")
    assert driver.find_element(By.ID, "wl-r").get_attribute("slope") == "1.0000"

    reader = driver.find_element(By.ID, "reader")
    reader.send_keys("reader-a")
    reader.send_keys(Keys.ESCAPE)
    scores = [5, 4, 3, 2, 1, 5, 5, 4, 3, 5]
    for i in range(5):
        press(str(scores[i]))
        press("n")
    assert text("progress") == "Scored 5 of 10 \u00b7 case 6 of 10"

    driver.refresh()
    assert text("progress") == "Scored 5 of 10 \u00b7 case 6 of 10", "resumed from local storage"
    assert driver.find_element(By.ID, "reader").get_attribute("value") == "reader-a"
    assert text("report") == key_cases[5]["text"]
    # Back to case 5: its score survived the reload; change it and come forward again.
    press(Keys.ARROW_LEFT)
    assert text("score-state") == "Score: 1"
    press("2")
    scores[4] = 2
    press(Keys.ARROW_RIGHT)
    for i in range(5, 10):
        if i == 7:
            comment = driver.find_element(By.ID, "comment")
            comment.send_keys('Typed "1" here, a comma, and keys n b')
            comment.send_keys(Keys.ESCAPE)
        press(str(scores[i]))
        if i < 9:
            press("n")
    assert text("progress") == "Scored 10 of 10 \u00b7 case 10 of 10"

    driver.find_element(By.ID, "export-json").click()
    exported = json.loads(wait_for_file(downloads, ".json").read_text())
    assert exported["format"] == "cxrcaption-reader-study-scores/1"
    assert exported["reader"] == "reader-a" and exported["packet"] == json.loads(key.read_text())["packet"]
    assert exported["scored"] == 10 and exported["cases"] == 10
    assert [s["score"] for s in exported["scores"]] == scores
    assert [s["id"] for s in exported["scores"]] == [c["id"] for c in key_cases]
    assert exported["scores"][7]["comment"] == 'Typed "1" here, a comma, and keys n b'
    assert all(s["comment"] == "" for i, s in enumerate(exported["scores"]) if i != 7)

    driver.find_element(By.ID, "export-csv").click()
    rows = list(csv.DictReader(io.StringIO(wait_for_file(downloads, ".csv").read_text(), newline="")))
    assert [int(r["score"]) for r in rows] == scores and rows[7]["comment"] == exported["scores"][7]["comment"]
    assert {r["reader"] for r in rows} == {"reader-a"}

    json_file = next(p for p in downloads.iterdir() if p.name.endswith(".json"))
    done = run_cli("reader-study", "analyze", "--key", key, "--scores", json_file, "--out", tmp_path / "analysis",
                   "--bootstrap", 500, "--permutations", 500)
    assert done.returncode == 0, done.stderr
    assert "| reader-a | model | 5 |" in done.stdout
    csv_file = next(p for p in downloads.iterdir() if p.name.endswith(".csv"))
    from_csv = run_cli("reader-study", "analyze", "--key", key, "--scores", csv_file, "--out", tmp_path / "csv",
                       "--bootstrap", 500, "--permutations", 500)
    assert from_csv.returncode == 0, from_csv.stderr
    assert (tmp_path / "csv" / "analysis.json").read_text() == (tmp_path / "analysis" / "analysis.json").read_text()


def test_export_needs_a_reader_id(browser, tmp_path):
    from selenium.webdriver.common.by import By
    driver, downloads = browser
    done, packet, key = make_packet(tmp_path, model_cases=1, human_cases=1, seed=4)
    assert done.returncode == 0, done.stderr
    driver.get((packet / "index.html").as_uri())
    driver.find_element(By.ID, "export-json").click()
    assert "Enter your reader id" in driver.find_element(By.ID, "message").text
    time.sleep(0.5)
    assert list(downloads.iterdir()) == []
