"""The review page in a real browser (Debian's headless Chromium) against the running
engine: open the signed link, see the preview, approve, and watch it go out."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import wait_until
from tests.scenario import X_CREDS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TEXT = "Open day on Saturday <b>not bold</b> & friends"
# Long and without a space: it must wrap on a phone, not widen the page.
LINK = (
    "https://acme.example/open-day?utm_source=x&utm_medium=social"
    "&utm_campaign=winter-open-day-2026-lyon-and-paris&ref=community-team-newsletter"
)
PHONE = (390, 844)


@pytest.fixture
def browser(tmp_path):
    # In CI the browser must be there (scripts/test installs it): a missing one fails.
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _click(browser, button_id: str) -> None:
    """Press a form button and wait until the answer page has replaced this one.

    The page is marked with a script property; a new document starts without it.
    (Selenium's staleness_of asks Chrome about the old node, and Chrome sometimes
    answers that question with an inspector error instead of "stale".)
    """
    browser.execute_script("window.publisherOldPage = true;")
    browser.find_element(By.ID, button_id).click()
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script(
            "return document.readyState === 'complete' && !window.publisherOldPage;"
        )
    )


def _overflow(browser) -> int:
    """How many CSS pixels the page is wider than the window (0: it fits)."""
    return browser.execute_script(
        "const e = document.documentElement; return Math.max(0, e.scrollWidth - e.clientWidth);"
    )


def _submitted(http, at: datetime) -> tuple[dict, int]:
    x = http(
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "Acme on X",
            "external_account_id": "1001",
            "credentials": X_CREDS,
        },
        expect=201,
    )
    campaign = http(
        "POST", "/v1/campaigns", {"name": "Open day", "objective": "recruitment"}, expect=201
    )
    post = http(
        "POST",
        "/v1/posts",
        {
            "campaign_id": campaign["id"],
            "text": TEXT,
            "link": LINK,
            "targets": [
                {"channel_id": x["id"], "scheduled_at": at.isoformat(), "time_zone": "UTC"}
            ],
        },
        expect=201,
    )
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    return post, post["publications"][0]["id"]


@pytest.mark.any_database  # the page's forms in a browser (votes: integration, both databases)
def test_a_reviewer_approves_from_the_page_and_it_goes_out(http, browser, sandbox):
    at = datetime.now(UTC) + timedelta(seconds=20)
    post, pub_id = _submitted(http, at)
    link = http("POST", f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)

    browser.get(link["url"])
    channel = f"#channel-{pub_id}"
    preview = browser.find_element(By.CSS_SELECTOR, f"{channel} .preview").text
    assert TEXT in preview  # shown as text: the markup in it is escaped, not rendered
    assert browser.find_elements(By.CSS_SELECTOR, f"{channel} .preview b") == []
    link_shown = browser.find_element(By.CSS_SELECTOR, f"{channel} .link").text
    assert LINK in link_shown.replace("\n", "")
    assert browser.find_element(By.CSS_SELECTOR, f"{channel} .tally").text == "0 of 1"
    assert browser.find_element(By.ID, "author").text == "editor"

    _click(browser, "approve")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your approval is recorded"
    assert "approved: it goes out" in browser.find_element(By.ID, "message").text
    pub = http("GET", f"/v1/publications/{pub_id}")
    assert pub["approved_at"] is not None
    history = http("GET", f"/v1/posts/{post['id']}/history")
    [vote] = [e for e in history if e["kind"] == "review.voted"]
    assert vote["data"]["decision"] == "approved" and vote["data"]["revision"] == 1
    # The vote's own moves (what the dispatcher does next depends on the time left).
    moves = [
        (e["from_status"], e["to_status"], e["actor"])
        for e in history
        if e["kind"] == "publication.transition" and e["publication_id"] == pub_id
    ]
    assert moves[1:3] == [
        ("in_review", "approved", vote["actor"]),
        ("approved", "scheduled", vote["actor"]),
    ]

    # The link decided once; opened again it says so and offers nothing to click. (Looked
    # at before the wait below: a headless browser left idle that long was seen to drop
    # its DevTools connection on a loaded machine.)
    browser.get(link["url"])
    assert "no longer waits for review" in browser.find_element(By.ID, "status").text
    assert browser.find_elements(By.ID, "approve") == []

    # The dispatcher and a worker process send it at its time, once.
    wait_until(
        lambda: http("GET", f"/v1/publications/{pub_id}")["status"] == "published",
        timeout_s=90,
        what="the approved publication to go out",
    )
    assert [a.text for a in sandbox.ledger.accepted()] == [f"{TEXT} {LINK}"]


@pytest.mark.any_database  # the page's forms in a browser (votes: integration, both databases)
def test_request_changes_needs_a_comment_and_a_stale_page_is_refused(http, browser):
    post, pub_id = _submitted(http, datetime.now(UTC) + timedelta(hours=2))
    link = http("POST", f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    browser.set_window_size(*PHONE)  # this reviewer is on a phone
    browser.get(link["url"])
    assert _overflow(browser) == 0  # the long link wraps: nothing scrolls sideways
    _click(browser, "request-changes")
    assert "comment is required" in browser.find_element(By.ID, "error").text
    assert http("GET", f"/v1/publications/{pub_id}")["status"] == "in_review"

    # The author edits while the page is open: the page's vote is for the old revision.
    http("PATCH", f"/v1/posts/{post['id']}", {"text": "Open day on Sunday"}, expect=200)
    _click(browser, "approve")
    assert "revision 2 is under review" in browser.find_element(By.ID, "error").text
    preview = browser.find_element(By.CSS_SELECTOR, f"#channel-{pub_id} .preview").text
    assert "Open day on Sunday" in preview
    assert http("GET", f"/v1/publications/{pub_id}")["status"] == "in_review"

    assert _overflow(browser) == 0  # with the error and the new revision's diff too
    browser.find_element(By.ID, "comment").send_keys("Say which Sunday")
    _click(browser, "request-changes")
    assert "changes requested" in browser.find_element(By.ID, "message").text
    assert http("GET", f"/v1/publications/{pub_id}")["status"] == "changes_requested"


def test_a_forged_link_opens_nothing_and_links_are_handed_out_with_care(http, stack):
    _, pub_id = _submitted(http, datetime.now(UTC) + timedelta(hours=2))
    link = http(
        "POST", f"/v1/reviews/{pub_id}/link", {"expires_in_hours": 1}, as_="reviewer", expect=201
    )
    forged = link["url"][:-3] + ("aaa" if not link["url"].endswith("aaa") else "bbb")
    response = requests.post(forged, data={"decision": "approve", "revision": "1"}, timeout=10)
    assert response.status_code == 403 and "not valid" in response.text
    assert http("GET", f"/v1/publications/{pub_id}")["status"] == "in_review"
    # Nobody hands out another key's vote: not a reviewer, not an admin.
    for maker, other in (("reviewer", 1), ("admin", 3)):
        answer = requests.post(
            f"{stack.api_url}/v1/reviews/{pub_id}/link",
            json={"reviewer_id": other},
            headers={"Authorization": f"Bearer {http.keys[maker]}"},
            timeout=10,
        )
        assert answer.status_code == 403, maker
        assert answer.json()["detail"].startswith(
            f"a review link votes as the key that makes it: key {other} makes its own"
        ), answer.json()


DESKTOP = (1280, 900)


def _whole_post(http, stack) -> tuple[int, int]:
    """A post for X and a Facebook Page: a three-part thread with a picture and a long link."""
    from tests.samples import png
    from tests.scenario import FB_CREDS, FB_PAGE, X_ACCOUNT

    x = http(
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "Acme on X",
            "external_account_id": X_ACCOUNT,
            "credentials": X_CREDS,
        },
        expect=201,
    )
    fb = http(
        "POST",
        "/v1/channels",
        {
            "platform": "facebook",
            "name": "Acme Page",
            "external_account_id": FB_PAGE,
            "credentials": FB_CREDS,
        },
        expect=201,
    )
    checked = http("POST", f"/v1/channels/{x['id']}/check", as_="admin", expect=200)
    assert checked["result"] == "ok", checked  # and the channel learns its @handle
    uploaded = requests.post(
        f"{stack.api_url}/v1/media",
        files={"file": ("hall.png", png(1600, 900), "image/png")},
        headers={"Authorization": f"Bearer {http.keys['editor']}"},
        timeout=10,
    )
    assert uploaded.status_code == 201, uploaded.text
    at = datetime.now(UTC) + timedelta(hours=3)
    post = http(
        "POST",
        "/v1/posts",
        {
            "text": TEXT,
            "link": LINK,
            "thread": ["The programme: talks, a tour, coffee.", "How to get there: " + LINK],
            "media": [{"media_id": uploaded.json()["id"], "alt_text": "The hall"}],
            "targets": [
                {"channel_id": c["id"], "scheduled_at": at.isoformat(), "time_zone": "UTC"}
                for c in (x, fb)
            ],
        },
        expect=201,
    )
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    ids = {p["channel_id"]: p["id"] for p in post["publications"]}
    return ids[x["id"]], ids[fb["id"]]


@pytest.mark.any_database  # the page's layout in a browser
@pytest.mark.parametrize(
    "size,language",
    [(PHONE, "en"), (DESKTOP, "en"), (PHONE, "fr")],
    ids=["phone-390", "desktop-1280", "phone-390-french"],
)
def test_the_whole_post_fits_the_screen_and_reads_as_each_network_shows_it(
    http, stack, browser, size, language, tmp_path
):
    x_pub, fb_pub = _whole_post(http, stack)
    made = http(
        "POST",
        "/v1/keys",
        {"name": "lea", "role": "reviewer", "language": language},
        as_="admin",
        expect=201,
    )
    http.keys.keys["lea"] = made["key"]  # the page speaks the key's language
    link = http("POST", f"/v1/reviews/{x_pub}/link", {}, as_="lea", expect=201)
    browser.set_window_size(*size)
    browser.get(link["url"])
    browser.save_screenshot(str(tmp_path / f"review-{size[0]}-{language}.png"))  # to look at
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language

    assert _overflow(browser) == 0  # long links wrap, pictures shrink: nothing scrolls sideways
    width = browser.execute_script("return document.documentElement.clientWidth;")
    for image in browser.find_elements(By.TAG_NAME, "img"):
        WebDriverWait(browser, 10).until(
            lambda b, i=image: b.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0;", i
            )
        )
        box = image.rect
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    x = f"#channel-{x_pub}"
    numbers = [e.text for e in browser.find_elements(By.CSS_SELECTOR, f"{x} .number")]
    assert numbers == ["1/3", "2/3", "3/3"]
    posts = browser.find_elements(By.CSS_SELECTOR, f"{x} .post")
    assert [len(p.find_elements(By.TAG_NAME, "img")) for p in posts] == [1, 0, 0]
    assert browser.find_element(By.CSS_SELECTOR, f"{x} .handle").text.startswith("@")
    fb = f"#channel-{fb_pub}"
    assert browser.find_elements(By.CSS_SELECTOR, f"{fb} .number") == []
    assert len(browser.find_elements(By.CSS_SELECTOR, f"{fb} img")) == 1
    # The buttons are on the screen's width and can be pressed.
    for button in ("approve", "request-changes"):
        box = browser.find_element(By.ID, button).rect
        assert box["x"] + box["width"] <= width and box["height"] >= 30, (button, box)
    _click(browser, "approve")
    assert _overflow(browser) == 0
    outcomes = browser.find_elements(By.CSS_SELECTOR, "#outcomes li.outcome-ok")
    assert len(outcomes) == 2
    for pub in (x_pub, fb_pub):
        assert http("GET", f"/v1/publications/{pub}")["status"] == "scheduled"
