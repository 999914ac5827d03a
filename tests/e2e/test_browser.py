"""End to end in a real headless browser (Debian's chromium + chromedriver; nothing downloaded at run time).

An operator logs in, starts a retraining from the admin, watches the job's progress bar reach the end and
opens the model report with its chart. On Postgres + Redis the job runs on a real Celery worker and the
page follows it through intermediate progress; on the embedded default it runs in the request (eager). Screenshots go to ``test-artifacts/`` (kept by CI, ignored by git).
"""

from pathlib import Path

import pytest
from django.conf import settings

from tests.ecomops.workers import (
    real_workers_unavailable,
    worker,  # noqa: F401 - real worker when Postgres + Redis are there
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser():
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def toy_model(transactional_db):
    from ecomops.registry import ModelSpec, TrainedModel, model_version_promote_if_better, model_version_register
    from tests.ecomops import toy_jobs

    toy_jobs.register()
    version = model_version_register(
        spec=ModelSpec(name="toy", primary_metric="mae"), trained=TrainedModel("mean", {"mean": 1}, {"mae": 2.0})
    )
    model_version_promote_if_better(version=version)
    yield version.registered_model
    toy_jobs.unregister()


@pytest.fixture
def job_mode(request):
    """ "worker" (jobs go through Redis to a real worker) where possible, else "eager"."""
    if real_workers_unavailable():
        yield "eager"
        return
    request.getfixturevalue("worker")
    from ecomops.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield "worker"
    app.conf.task_always_eager = saved


def test_operator_retrains_from_admin_and_opens_the_model_report(
    browser, live_server, operator_user, toy_model, job_mode
):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from ecomops.models import JobRun

    wait = WebDriverWait(browser, 30)
    browser.get(f"{live_server.url}/admin/login/?next=/admin/ecomops/registeredmodel/")
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys("operator-pass-123")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "changelist")))
    browser.save_screenshot(str(ARTIFACTS / "e2e-1-models.png"))

    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{toy_model.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("retrain")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    # the admin opens the job page, which follows the job until its progress bar reaches the end
    bar = (By.CSS_SELECTOR, ".progress[role=progressbar]")
    seen: list[int] = []

    def reached_the_end(driver) -> bool:
        seen.append(int(driver.find_element(*bar).get_attribute("aria-valuenow")))
        return seen[-1] == 100

    follow = WebDriverWait(
        browser, 60, poll_frequency=0.2, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException]
    )
    follow.until(reached_the_end)
    if job_mode == "worker":
        assert min(seen) < 100  # the page showed the job before it finished
    else:
        assert seen == [100]  # eager: the job ran within the request
    job = JobRun.objects.get()
    assert browser.current_url.endswith(f"/admin/ecomops/jobrun/{job.pk}/change/")
    assert browser.find_element(*bar).get_attribute("data-state") == "succeeded"
    assert "[100%] v2 activated" in browser.find_element(By.CSS_SELECTOR, "pre.job-log").text
    browser.save_screenshot(str(ARTIFACTS / "e2e-2-job-finished.png"))

    browser.find_element(By.ID, "model-report-link").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "figure.report-chart svg")))
    titles = [el.text for el in browser.find_elements(By.CSS_SELECTOR, "figure.report-chart h2")]
    assert titles[0] == "mae by version"
    assert "v2: what drives predictions (coefficient)" in titles
    summary = browser.find_element(By.CSS_SELECTOR, ".report-summary").text
    assert "v2" in summary
    browser.save_screenshot(str(ARTIFACTS / "e2e-3-model-report.png"))
