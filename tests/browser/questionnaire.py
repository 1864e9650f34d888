"""The questionnaire in a real browser (Debian's Chromium, headless, driven over WebDriver by
Selenium), against the real `maturity serve`:

1. A CRM creates an invitation over JSON and subscribes a webhook endpoint.
2. One browser answers half the pages with the keyboard only (Tab, the arrow keys, Enter); the
   focus is visible on every control it reaches.
3. A second browser (another profile: no cookie of the first) opens the same link, finds every
   answer, finishes with the keyboard, reviews and submits.
4. The CRM's receiver gets `invitation.opened` and `assessment.scored`, whose result is what
   GetAssessment returns; the link then says that the questionnaire is submitted.
5. A revoked and an expired link get a page that says so.
6. The same questionnaire completed from start to end with JavaScript disabled.
7. axe-core (the npm package) on every page type, in Dutch and English: no WCAG 2.0, 2.1 or 2.2
   A or AA violation.

Usage: questionnaire.py MATURITY_BINARY AXE_JS [SCREENSHOT_DIR]. With SCREENSHOT_DIR, PNG
screenshots of each page type are written there (`make questionnaire-pages`).
"""

import http.server
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

PASSED, FAILED = [], []
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
FIRM = {"sbiSection": "F", "sizeClass": "small", "province": "NL-GE"}


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)[:2000]), flush=True)
    return ok


class Receiver(http.server.ThreadingHTTPServer):
    """The CRM's webhook endpoint: keeps every event body."""

    def __init__(self):
        self.events = queue.Queue()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.events.put(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/crm"

    def wait_for(self, event_type, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if event.get("type") == event_type:
                return event
        return None


class Api:
    """The JSON API as the CRM calls it."""

    def __init__(self, base, key):
        self.base, self.key = base, key

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.key}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as reply:
                return reply.status, json.loads(reply.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def invite(self, **extra):
        body = {"externalRef": "crm-browser-1", "firmName": "Browsertest B.V. (synthetisch)", "firm": FIRM,
                "locale": "nl", **extra}
        status, created = self.call("POST", "/v1/invitations", body)
        assert status == 200, created
        return created["invitation"]["id"], created["url"]


def browser(scratch, name, javascript=True):
    """A fresh headless Chromium with a profile of its own (its own cookies)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1400", f"--user-data-dir={scratch}/{name}"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))


class Axe:
    """axe-core run in the page."""

    def __init__(self, source_path):
        with open(source_path) as f:
            self.source = f.read()
        self.seen = set()

    def finds_a_planted_violation(self, driver):
        """Whether axe, run as the pages are checked, reports an image without a text."""
        driver.get("data:text/html,<!DOCTYPE html><html lang=en><title>t</title><main><img src=x></main></html>")
        driver.execute_script(self.source)
        found = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(r => done(r.violations.map(v => v.id)));",
            AXE_TAGS)
        return "image-alt" in found

    def check(self, driver, page_type, shots=None):
        lang = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
        driver.execute_script(self.source)
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(r => done(r.violations.map("
            "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))), e => done(String(e)));",
            AXE_TAGS)
        self.seen.add((page_type, lang))
        check(f"axe: no WCAG A/AA violation on the {page_type} page ({lang})", result == [], result)
        if shots:
            driver.save_screenshot(os.path.join(shots, f"{page_type}-{lang}.png"))


def focus_visible(driver):
    """Whether the focused element shows an outline."""
    return driver.execute_script(
        "const s = getComputedStyle(document.activeElement);"
        "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;")


def answer_by_keyboard(driver, visible):
    """Answers every question of the page with Tab and the arrow keys, then presses Enter on the
    page's main button; the answers chosen, by field name."""
    answered = {}
    keys = ActionChains(driver)
    for _ in range(400):
        keys.send_keys(Keys.TAB).perform()
        el = driver.switch_to.active_element
        visible.append(focus_visible(driver))
        name = el.get_attribute("name") or ""
        if el.tag_name == "input" and el.get_attribute("type") == "radio" and name.startswith("a.") and name not in answered:
            keys.send_keys(Keys.ARROW_DOWN).perform()
            chosen = driver.switch_to.active_element
            visible.append(focus_visible(driver))
            answered[name] = chosen.get_attribute("value")
        elif el.tag_name == "button" and el.get_attribute("value") in ("next", "review"):
            keys.send_keys(Keys.ENTER).perform()
            return answered
    raise AssertionError("the page's button was never reached by Tab")


def checked_answers(driver):
    return driver.execute_script(
        "const out = {}; document.querySelectorAll('input[type=radio]:checked').forEach(i => out[i.name] = i.value);"
        "return out;")


def page_count(driver):
    text = driver.find_element(By.CLASS_NAME, "progress").text
    return int(text.split(" van ")[1].split()[0]) if " van " in text else int(text.split(" of ")[1].split()[0])


def wait_for_url(driver, part, timeout=20):
    deadline = time.monotonic() + timeout
    while part not in driver.current_url and time.monotonic() < deadline:
        time.sleep(0.05)
    return part in driver.current_url


def two_devices_by_keyboard(api, base, receiver, scratch, axe, shots):
    invitation, link = api.invite()
    first = browser(scratch, "first")
    second = browser(scratch, "second")
    try:
        check("axe finds a violation planted in a page", axe.finds_a_planted_violation(first))
        first.get(f"{base}{link}")
        check("the start page names the firm", "Browsertest B.V." in first.page_source)
        axe.check(first, "start", shots)
        opened = receiver.wait_for("invitation.opened")
        check("the CRM hears invitation.opened", opened and opened["data"]["invitationId"] == invitation, opened)
        # The keyboard: from the top of the start page to its start link.
        keys = ActionChains(first)
        for _ in range(20):
            keys.send_keys(Keys.TAB).perform()
            if first.switch_to.active_element.get_attribute("class") == "button":
                break
        keys.send_keys(Keys.ENTER).perform()
        check("Enter on the start link opens page 1", wait_for_url(first, f"{link}/1"), first.current_url)
        axe.check(first, "questions", shots)
        pages = page_count(first)
        visible, given = [], {}
        for n in range(1, pages // 2 + 1):
            given.update(answer_by_keyboard(first, visible))
            check(f"page {n} answered by keyboard goes on to page {n + 1}", wait_for_url(first, f"{link}/{n + 1}"),
                  (first.current_url, first.find_element(By.TAG_NAME, "main").text[:1500]))
        check("the focus is visible on every control reached by keyboard", visible and all(visible),
              f"{visible.count(False)} of {len(visible)} without an outline")

        second.get(f"{base}{link}")
        check("the second device is offered to continue", "Verder waar u was" in second.page_source)
        found = {}
        for n in range(1, pages // 2 + 1):
            second.get(f"{base}{link}/{n}")
            found.update(checked_answers(second))
        check("the second device finds every answer the first gave", found == given,
              {k: (given.get(k), found.get(k)) for k in set(given) | set(found) if given.get(k) != found.get(k)})
        second.get(f"{base}{link}/{pages // 2 + 1}")
        for n in range(pages // 2 + 1, pages + 1):
            given.update(answer_by_keyboard(second, visible))
        check("the last page leads to the review", wait_for_url(second, f"{link}/review"), second.current_url)
        axe.check(second, "review", shots)
        second.get(f"{base}{link}/review?lang=en")
        axe.check(second, "review", None)
        keys = ActionChains(second)
        for _ in range(60):
            keys.send_keys(Keys.TAB).perform()
            el = second.switch_to.active_element
            if el.tag_name == "button":
                break
        keys.send_keys(Keys.ENTER).perform()
        time.sleep(0.5)
        check("the submission by keyboard shows that it was submitted",
              "Your answers have been submitted" in second.page_source, second.page_source[:500])
        axe.check(second, "submitted", shots)

        scored = receiver.wait_for("assessment.scored")
        check("the CRM hears assessment.scored", scored is not None)
        status, stored = api.call("GET", f"/v1/assessments/{scored['data']['assessmentId']}")
        check("assessment.scored carries the result GetAssessment returns",
              status == 200 and stored["result"]["maturityIndex"] == scored["data"]["maturityIndex"]
              and stored["externalRef"] == "crm-browser-1" and len(stored["answers"]) == len(given),
              (status, scored, len(given)))
        first.get(f"{base}{link}")
        check("the link now says that the questionnaire is submitted",
              "Uw antwoorden zijn verstuurd" in first.page_source, first.page_source[:500])
        axe.check(first, "submitted", None)
        status, shown = api.call("GET", f"/v1/invitations/{invitation}")
        check("GetInvitation says SUBMITTED with the assessment", shown.get("state") == "INVITATION_STATE_SUBMITTED"
              and shown.get("assessmentId") == scored["data"]["assessmentId"], shown)
    finally:
        first.quit()
        second.quit()


def errors_and_notices(api, base, scratch, axe, shots):
    """The pages that refuse: a page with an error summary, a review with what is missing, a
    revoked, an expired and an unknown link; each in both languages."""
    driver = browser(scratch, "errors")
    try:
        for lang in ("nl", "en"):
            _, link = api.invite(locale=lang)
            driver.get(f"{base}{link}")
            axe.check(driver, "start", None)
            driver.get(f"{base}{link}/1")
            axe.check(driver, "questions", None)
            # A value off the scale, as a tampered page would post it.
            driver.execute_script("const r = document.querySelector('input[type=radio]'); r.value = '9'; r.checked = true;"
                                  "document.querySelector('button[value=next]').click();")
            time.sleep(0.5)
            summary = driver.find_elements(By.CLASS_NAME, "errors")
            check(f"a refused page has an error summary ({lang})", bool(summary), driver.page_source[:500])
            link_to = summary[0].find_element(By.TAG_NAME, "a").get_attribute("href") if summary else ""
            check(f"the summary links to the question ({lang})", "#q-" in link_to, link_to)
            axe.check(driver, "error", shots)
            driver.get(f"{base}{link}/review")
            check(f"the review says what is missing ({lang})", bool(driver.find_elements(By.CLASS_NAME, "errors")))
            revoked_id, revoked = api.invite(locale=lang)
            api.call("POST", f"/v1/invitations/{revoked_id}:revoke", {})
            driver.get(f"{base}{revoked}")
            heading = driver.find_element(By.TAG_NAME, "h1").text
            check(f"a revoked link says so ({lang})", heading in ("Deze link is ingetrokken", "This link has been withdrawn"),
                  heading)
            axe.check(driver, "revoked", shots)
            soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
            _, expiring = api.invite(locale=lang, expiresAt=soon)
            time.sleep(2.5)
            driver.get(f"{base}{expiring}")
            heading = driver.find_element(By.TAG_NAME, "h1").text
            check(f"an expired link says so ({lang})", heading in ("Deze link is verlopen", "This link has expired"), heading)
            axe.check(driver, "expired", shots)
            driver.get(f"{base}/q/{'x' * 43}?lang={lang}")
            axe.check(driver, "unknown", shots)
    finally:
        driver.quit()


def autosave_with_javascript(api, base, scratch):
    """With JavaScript, an answer is saved as it is given, and the page says so."""
    invitation, link = api.invite()
    driver = browser(scratch, "autosave")
    try:
        driver.get(f"{base}{link}/1")
        driver.find_element(By.CSS_SELECTOR, "fieldset label").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "save-status").text != "")
        status = driver.find_element(By.ID, "save-status").text
        _, shown = api.call("GET", f"/v1/invitations/{invitation}")
        check("with JavaScript an answer is saved as it is given",
              status == "Uw antwoorden zijn opgeslagen." and shown.get("answered") == 1, (status, shown))
    finally:
        driver.quit()


def without_javascript(api, base, scratch, axe):
    """The whole questionnaire answered and submitted with JavaScript disabled, by clicks."""
    invitation, link = api.invite(locale="en")
    driver = browser(scratch, "nojs", javascript=False)
    try:
        driver.get(f"{base}{link}")
        driver.find_element(By.CSS_SELECTOR, "a.button").click()
        wait_for_url(driver, f"{link}/1")
        driver.find_element(By.CSS_SELECTOR, "fieldset label").click()
        time.sleep(1.5)
        _, shown = api.call("GET", f"/v1/invitations/{invitation}")
        check("without JavaScript nothing is saved before the page's button",
              shown.get("answered", 0) == 0 and driver.find_element(By.ID, "save-status").text == "", shown)
        answered = 0
        for _ in range(40):
            if "/review" in driver.current_url:
                break
            groups = []
            for radio in driver.find_elements(By.CSS_SELECTOR, "input[type=radio]"):
                if radio.get_dom_attribute("name") not in groups:
                    groups.append(radio.get_dom_attribute("name"))
                    radio.find_element(By.XPATH, "..").click()
            answered += len(groups)
            button = driver.find_element(By.CSS_SELECTOR, "button[value=next], button[value=review]")
            button.click()
            WebDriverWait(driver, 20).until(expected_conditions.staleness_of(button))
        button = driver.find_element(By.CSS_SELECTOR, "form button[type=submit]")
        button.click()
        WebDriverWait(driver, 20).until(expected_conditions.staleness_of(button))
        check("without JavaScript the questionnaire is answered and submitted",
              "Your answers have been submitted" in driver.page_source, driver.page_source[:500])
        _, shown = api.call("GET", f"/v1/invitations/{invitation}")
        check("without JavaScript: the invitation is submitted with every answer",
              shown.get("state") == "INVITATION_STATE_SUBMITTED" and answered == shown.get("items"), (answered, shown))
    finally:
        driver.quit()


def main():
    maturity, axe_path = sys.argv[1], sys.argv[2]
    shots = sys.argv[3] if len(sys.argv) > 3 else None
    if shots:
        os.makedirs(shots, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="browser-")
    common = ["--database-url", f"sqlite://{scratch}/m.db?mode=rwc", "--pseudonym-key-file", f"{scratch}/key"]
    subprocess.run([maturity, "migrate", *common], check=True, capture_output=True)
    subprocess.run([maturity, "admin", *common, "create-tenant", "acme", "--name", "Acme Advies"], check=True,
                   capture_output=True)
    issued = subprocess.run([maturity, "admin", *common, "issue-key", "acme", "--label", "browser"], check=True,
                            capture_output=True, text=True)
    key = issued.stdout.strip().splitlines()[-1]
    receiver = Receiver()
    env = dict(os.environ, MATURITY_WEBHOOK_ALLOW_PRIVATE_NETWORKS="true")
    server = subprocess.Popen(
        [maturity, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
         "--log-level", "warn", *common],
        stdout=subprocess.PIPE, text=True, env=env)
    try:
        server.stdout.readline()
        base = server.stdout.readline().split("listening on ", 1)[1].split()[0]
        api = Api(base, key)
        status, _ = api.call("POST", "/v1/webhookEndpoints",
                             {"url": receiver.url(), "eventTypes": ["invitation.opened", "assessment.scored"]})
        check("the CRM subscribes to the questionnaire's events", status == 200, status)
        axe = Axe(axe_path)
        two_devices_by_keyboard(api, base, receiver, scratch, axe, shots)
        errors_and_notices(api, base, scratch, axe, shots)
        autosave_with_javascript(api, base, scratch)
        without_javascript(api, base, scratch, axe)
        types = {"start", "questions", "error", "review", "submitted", "revoked", "expired", "unknown"}
        missing = {(t, l) for t in types for l in ("nl", "en")} - axe.seen
        check("axe ran on every page type in Dutch and English", not missing, sorted(missing))
    finally:
        server.terminate()
        server.wait(timeout=30)
        receiver.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"questionnaire in the browser: {len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
