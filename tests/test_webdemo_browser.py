"""The example web application in a real browser: headless Chromium (the distribution's
``chromium`` and ``chromium-driver``) driven by Selenium through sign-in, TOTP set-up with the
QR page, sign-out, sign-in with a TOTP code while remembering the browser, and sign-in without
a code. A screenshot of each page goes to ``build/screenshots/``.

Without the browser the test skips with the reason, except when ``CI=true``: then it fails
(``.ci/run`` installs the packages).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from test_webdemo import Demo, web_demo

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots"

pytestmark = pytest.mark.browser


def _programs() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        reason = "chromium and chromium-driver are not installed (apt-get install them)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: they must be")
        pytest.skip(reason)
    return browser, driver


@pytest.fixture
def chrome() -> Iterator[object]:
    browser, driver = _programs()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=900,1100"):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture
def demo() -> Iterator[Demo]:
    with web_demo() as running:
        yield running


def test_the_whole_path_in_chromium(chrome: object, demo: Demo) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.wait import WebDriverWait

    assert isinstance(chrome, WebDriver)
    driver = chrome
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        driver.save_screenshot(str(SHOTS / f"{name}.png"))
        assert (SHOTS / f"{name}.png").stat().st_size > 1000

    def title() -> str:
        return str(driver.find_element(By.TAG_NAME, "h1").text)

    def submit(form: str) -> None:
        # Each form posts and the answer is the next page. Mark this document, then wait for a
        # fully loaded document without the mark. While the page is being replaced the driver
        # may answer any query with a transient error (stale node, "Node with given id does not
        # belong to the document"), so those are retried rather than trusted either way.
        driver.execute_script("document.documentElement.dataset.leaving = '1'")
        driver.find_element(By.CSS_SELECTOR, f"#{form} button").click()
        WebDriverWait(driver, 60, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(
                "return document.readyState === 'complete'"
                " && !document.documentElement.dataset.leaving"
                " && document.querySelector('h1') !== null"
            )
        )

    def sign_in() -> None:
        driver.find_element(By.ID, "username").send_keys("alice")
        driver.find_element(By.ID, "password").send_keys("Correct-Horse-9")
        submit("sign-in")

    driver.get(demo.url)
    assert title() == "Sign in"
    shot("01-sign-in")
    sign_in()
    assert title() == "Set up two-factor sign-in"
    shot("02-mfa-setup")
    submit("setup")
    assert title() == "Set up your authenticator app"
    assert driver.find_element(By.CSS_SELECTOR, "#qr svg").size["width"] > 50
    shot("03-totp-qr")
    uri = driver.find_element(By.ID, "otpauth").text
    totp = pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])
    step = int(time.time()) // 30
    driver.find_element(By.ID, "code").send_keys(totp.at(step * 30))
    submit("code-form")
    assert title() == "Your account"
    shot("04-account")

    submit("sign-out")
    assert title() == "Sign in"
    sign_in()
    assert title() == "Enter your code"
    shot("05-code")
    # a code is accepted once: take the current step's, unless that is the one already used
    again = max(int(time.time()) // 30, step + 1)
    driver.find_element(By.ID, "code").send_keys(totp.at(again * 30))
    driver.find_element(By.ID, "remember_device").click()
    submit("code-form")
    assert title() == "Your account"
    assert "(this browser)" in driver.find_element(By.ID, "devices").text
    shot("06-account-remembered")

    submit("sign-out")
    assert title() == "Sign in"
    sign_in()
    assert title() == "Your account"  # no code: the browser is remembered
    shot("07-signed-in-without-code")
