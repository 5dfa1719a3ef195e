"""A headless Chromium driven by Selenium, from Debian's chromium and chromium-driver.

On CI (``CI=true``) a missing browser fails the test; on a developer machine it skips
with the reason and the install command.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts"
INSTALL = "apt-get install -y chromium chromium-driver"


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def chromium(width: int = 390, height: int = 844) -> Iterator[Any]:
    """A headless Chromium WebDriver with a phone-sized window."""
    browser = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    if browser is None or driver_path is None:
        reason = (
            f"headless Chromium not installed (browser={browser}, driver={driver_path}); {INSTALL}"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the browser test: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--lang=zh-CN",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def artifact(name: str) -> Path:
    """Where a test keeps a screenshot (var/artifacts/, created)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
