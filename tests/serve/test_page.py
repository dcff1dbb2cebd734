"""The shopping-guide page at / of embedrank-serve, in a real headless Chromium.

Starts embedrank-serve on the sample shop (examples/data/) on a free port and
Debian's chromium through chromedriver and selenium (scripts/install_deps.sh
installs them), then uses the page as a shop team would: a search with its
chips, a removed chip, a shopper's explained recommendations, an edited
price, a Chinese query, the evaluation panel, both widths. Any error in the
browser's console fails the test. Also the page's own routes (/v1/users,
/v1/evaluation, the attribute roles of /v1/search).

    /usr/bin/python3 -m pytest -q tests/serve/test_page.py

EMBEDRANK_PAGE_SCREENSHOTS=DIR also saves the page at 1280 and 390 px as
DIR/shop-page-1280.png and DIR/shop-page-390.png (the README's are docs/).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import DATA, SHOP_ARGS, Server

QUERY = "pacewell running shoes under 100"
CHINESE_QUERY = "我想买一件红色的连衣裙"
WAIT_S = 20


@pytest.fixture(scope="module")
def server():
    """The sample shop with its named shoppers and the demo's evaluation (the page edits it: one per module)."""
    server = Server(*SHOP_ARGS, "--shoppers", DATA / "histories.tsv", "--evaluation", DATA / "evaluation.tsv",
                    "--quiet")
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def browser(server):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--lang=en-US", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=ChromeService("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(server.url + "/")
        wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def no_console_errors(browser):
    browser.get_log("browser")  # what earlier tests left is theirs
    yield
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, "errors in the browser console:\n" + "\n".join(e["message"] for e in errors)


def wait(driver):
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.02)


def api(server, method, path, body=None):
    response = server.post(path, body) if method == "POST" else server.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def search_done(driver):
    return driver.execute_script("return document.body.dataset.searchDone || ''")


def wait_for_search(driver, before, query=None):
    """Waits until a search later than `before` (of `query`, if given) is shown and none waits or runs."""
    def settled(d):
        s = d.execute_script("const s = document.body.dataset;"
                             "return [s.pending || '', s.searching || '', s.searchDone || '', s.searchQuery || ''];")
        return s[0] == "" and s[1] == "" and s[2] != before and (query is None or s[3] == query)
    wait(driver).until(settled)


def type_query(driver, text):
    box = driver.find_element(By.ID, "query")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    before = search_done(driver)
    box.send_keys(text)
    wait_for_search(driver, before, text.strip())


def results(driver):
    return [{"id": li.get_attribute("data-id"), "brand": li.get_attribute("data-brand"),
             "price": li.get_attribute("data-price"), "text": li.text}
            for li in driver.find_elements(By.CSS_SELECTOR, "#results > li.product")]


def chips(driver):
    return {li.get_attribute("data-name"): li for li in driver.find_elements(By.CSS_SELECTOR, "#chips > li.chip")}


# ---- the page's routes ----------------------------------------------------


def test_the_page_and_its_files_are_served(server):
    page = server.get("/")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    for name in re.findall(r'(?:href|src)="/page/([^"]+)"', page.text):
        assert server.get("/page/" + name).status_code == 200, name
    assert server.get("/page/nothing.js").status_code == 404


def test_users_lists_the_named_shoppers_first(server):
    answer = api(server, "GET", "/v1/users?limit=10")
    named = [line.split("\t")[0] for line in (DATA / "histories.tsv").read_text().splitlines()[1:]]
    named = list(dict.fromkeys(named))
    assert [u["user"] for u in answer["users"][:len(named)]] == named
    assert all(u["named"] for u in answer["users"][:len(named)])
    assert not any(u["named"] for u in answer["users"][len(named):]) and len(answer["users"]) == 10
    assert answer["users"][0] == {"user": "alex_runner", "ratings": 8, "named": True}
    assert answer["total"] == 3008
    assert server.get("/v1/users?limit=0").status_code == 422


def test_evaluation_is_the_demos_table(server):
    answer = api(server, "GET", "/v1/evaluation")
    lines = [line.split("\t") for line in (DATA / "evaluation.tsv").read_text().splitlines()[1:]]
    assert answer["k"] == 10 and answer["content_weight"] == 0.3 and answer["source"].endswith("evaluation.tsv")
    assert [(r["method"], r["content_weight"], r["hit_rate"], r["ndcg"]) for r in answer["rows"]] == [
        (m, float(w) if w else None, float(hr), float(ndcg)) for m, w, hr, ndcg in lines]


def test_search_says_which_attribute_filters_and_which_boosts(server):
    query = api(server, "POST", "/v1/search", {"query": QUERY})["query"]
    assert {a["name"]: a["role"] for a in query["attributes"]} == {
        "brand": "filter", "category": "boost", "price": "filter"}
    query = api(server, "POST", "/v1/search", {"query": "red dress", "filters": {"colour": "red"}})["query"]
    assert {a["name"]: a["role"] for a in query["attributes"]}["colour"] == "filter"


# ---- the page in the browser ---------------------------------------------------


def test_search_shows_chips_and_filtered_results(server, browser):
    type_query(browser, QUERY)
    found = chips(browser)
    assert "brand" in found and "price" in found, found.keys()
    assert "Pacewell" in found["brand"].text and found["brand"].get_attribute("data-role") == "filter"
    assert "100" in found["price"].text and found["price"].get_attribute("data-role") == "filter"
    shown = results(browser)
    assert shown, "no results"
    for r in shown:
        assert r["brand"] == "Pacewell", r
        assert r["price"] != "" and float(r["price"]) <= 100, r
    assert browser.find_element(By.ID, "search-text").text == "pacewell running shoes"
    assert shown[0]["id"] == api(server, "POST", "/v1/search", {"query": QUERY, "k": 10})["results"][0]["id"]


def test_removing_a_chip_changes_the_results(server, browser):
    type_query(browser, QUERY)
    before_ids = [r["id"] for r in results(browser)]
    before = search_done(browser)
    chips(browser)["brand"].find_element(By.TAG_NAME, "button").click()
    wait_for_search(browser, before)
    assert "brand" not in chips(browser) and "price" in chips(browser)
    after = results(browser)
    assert [r["id"] for r in after] != before_ids
    assert any(r["brand"] != "Pacewell" for r in after)
    assert all(float(r["price"]) <= 100 for r in after)


def test_the_page_is_used_from_the_keyboard(server, browser):
    type_query(browser, QUERY)
    unlabelled = browser.execute_script("""
        return [...document.querySelectorAll('input, select, textarea')]
                   .filter(c => c.labels.length === 0).map(c => c.id)
             .concat([...document.querySelectorAll('button')]
                   .filter(b => !(b.getAttribute('aria-label') || b.textContent.trim())).map(b => b.outerHTML));""")
    assert unlabelled == []
    # Tab from the search box reaches the first chip's remove button; Enter removes it
    before = search_done(browser)
    browser.switch_to.active_element.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("aria-label").startswith("Remove brand: Pacewell")
    focused.send_keys(Keys.ENTER)
    wait_for_search(browser, before)
    assert "brand" not in chips(browser)


def test_a_shopper_gets_explained_recommendations(server, browser):
    Select(browser.find_element(By.ID, "shopper-select")).select_by_value("alex_runner")
    wait(browser).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#recommendations > li.product")) > 0)
    expected = api(server, "POST", "/v1/recommend", {"user": "alex_runner", "k": 8})["results"]
    shown = browser.find_elements(By.CSS_SELECTOR, "#recommendations > li.product")
    assert [li.get_attribute("data-id") for li in shown] == [r["id"] for r in expected]
    first = shown[0].text
    assert re.search(r"content \d\.\d{3} · CF \d\.\d", first), first
    title = api(server, "GET", "/v1/products/" + expected[0]["closest_history_id"])["title"]
    assert "closest in history: " + title in first, first
    assert "similar shoppers: " + expected[0]["cf_neighbors"][0]["user"] in first, first
    history = browser.find_elements(By.CSS_SELECTOR, "#history > li")
    assert len(history) == 8


@pytest.mark.parametrize("width,query", [(1280, QUERY), (390, CHINESE_QUERY)])
def test_the_page_fits_the_width(server, browser, width, query):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        Select(browser.find_element(By.ID, "shopper-select")).select_by_value("alex_runner")
        type_query(browser, query)
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#recommendations .neighbours")) > 0)
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than {width} px"
        out = os.environ.get("EMBEDRANK_PAGE_SCREENSHOTS")
        if out:
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": min(height, 2600), "deviceScaleFactor": 1,
                                     "mobile": width < 600})
            ActionChains(browser).move_to_element(browser.find_element(By.TAG_NAME, "h1")).perform()  # no hover
            time.sleep(0.2)
            Path(out).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(Path(out) / f"shop-page-{width}.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_new_shopper_is_built_by_clicking(server, browser):
    Select(browser.find_element(By.ID, "shopper-select")).select_by_visible_text("a new shopper")
    assert browser.find_element(By.ID, "history-hint").is_displayed()
    type_query(browser, QUERY)
    first = browser.find_element(By.CSS_SELECTOR, "#results > li.product")
    product_id = first.get_attribute("data-id")
    first.find_element(By.XPATH, ".//button[text()='Add to history']").click()
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#recommendations > li.product")) > 0)
    expected = api(server, "POST", "/v1/recommend", {"history": [product_id], "k": 8})["results"]
    shown = browser.find_elements(By.CSS_SELECTOR, "#recommendations > li.product")
    assert [li.get_attribute("data-id") for li in shown] == [r["id"] for r in expected]
    assert product_id not in [r["id"] for r in expected]
    assert "CF –" in shown[0].text and "closest in history: " in shown[0].text
    assert [li.get_attribute("data-id") for li in browser.find_elements(By.CSS_SELECTOR, "#history > li")] == [product_id]


def test_similar_products_open_and_close(server, browser):
    type_query(browser, QUERY)
    first = browser.find_element(By.CSS_SELECTOR, "#results > li.product")
    first.find_element(By.XPATH, ".//button[text()='Similar']").click()
    dialog = browser.find_element(By.ID, "similar-dialog")
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#similar > li.product")) > 0)
    expected = api(server, "GET", f"/v1/products/{first.get_attribute('data-id')}/similar?k=6")["results"]
    assert [li.get_attribute("data-id") for li in browser.find_elements(By.CSS_SELECTOR, "#similar > li")] == \
        [r["id"] for r in expected]
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(browser).until(lambda d: not dialog.is_displayed())


def test_an_edited_price_shows_in_the_next_search(server, browser):
    type_query(browser, QUERY)
    first = browser.find_element(By.CSS_SELECTOR, "#results > li.product")
    product_id = first.get_attribute("data-id")
    first.find_element(By.XPATH, ".//button[text()='Edit']").click()
    price = browser.find_element(By.ID, "edit-price")
    wait(browser).until(lambda d: price.is_displayed() and price.get_attribute("value") != "")
    price.send_keys(Keys.CONTROL, "a")
    price.send_keys("24.50")
    before = search_done(browser)
    browser.find_element(By.ID, "edit-save").click()
    wait_for_search(browser, before)
    assert api(server, "GET", "/v1/products/" + product_id)["price"] == 24.5
    type_query(browser, QUERY)  # the next search
    mine = [r for r in results(browser) if r["id"] == product_id]
    assert mine and float(mine[0]["price"]) == 24.5 and "24.50" in mine[0]["text"], mine


def test_a_removed_product_leaves_the_next_search(server, browser):
    type_query(browser, QUERY)
    second = browser.find_elements(By.CSS_SELECTOR, "#results > li.product")[1]
    product_id = second.get_attribute("data-id")
    second.find_element(By.XPATH, ".//button[text()='Edit']").click()
    remove = browser.find_element(By.ID, "edit-remove")
    wait(browser).until(lambda d: remove.is_displayed())
    before = search_done(browser)
    remove.click()
    wait_for_search(browser, before)
    assert server.get("/v1/products/" + product_id).status_code == 404
    type_query(browser, QUERY)  # the next search
    assert product_id not in [r["id"] for r in results(browser)]


def test_a_chinese_query_is_shown_and_flagged(server, browser):
    type_query(browser, CHINESE_QUERY)
    notice = browser.find_element(By.ID, "unknown-notice")
    assert notice.is_displayed() and "unknown" in notice.text
    share = api(server, "POST", "/v1/search", {"query": CHINESE_QUERY})["query"]["unknown_token_share"]
    assert f"{round(share * 100)}%" in notice.text
    assert browser.find_element(By.ID, "search-text").text == CHINESE_QUERY
    titles = browser.find_elements(By.CSS_SELECTOR, "#results > li.product .title")
    assert titles and any(t.get_attribute("lang") == "zh-CN" for t in titles)


def test_the_evaluation_panel_reads_the_server(server, browser):
    answer = api(server, "GET", "/v1/evaluation")
    rows = browser.find_elements(By.CSS_SELECTOR, "#eval-table tbody tr")
    assert len(rows) == len(answer["rows"]) > 0
    served = browser.find_elements(By.CSS_SELECTOR, "#eval-table tr.served")
    assert len(served) == 1 and "0.3" in served[0].get_attribute("textContent")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#eval-chart svg polyline")) == 2


def test_behind_an_api_key_the_page_asks_for_it(guarded_server, browser):
    browser.get(guarded_server.url + "/")  # the page itself needs no key; the routes it calls do
    form = browser.find_element(By.ID, "key-form")
    wait(browser).until(lambda d: form.is_displayed())
    refused = browser.get_log("browser")
    assert refused and all("401" in e["message"] for e in refused), refused
    browser.find_element(By.ID, "api-key").send_keys("s3cret", Keys.ENTER)
    wait(browser).until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
    assert not form.is_displayed() and not browser.find_element(By.ID, "error").is_displayed()
    assert "no shop loaded" in browser.find_element(By.ID, "server-status").text
    assert "without --evaluation" in browser.find_element(By.ID, "eval-note").text
