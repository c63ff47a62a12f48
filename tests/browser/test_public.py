"""Public pages in a real browser: landing, login redirect, languages and right-to-left."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_unauthenticated_visitor_is_sent_to_login_and_back(open_page, world):
    page = open_page()
    page.goto("/me/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/me/$"))
    expect(page.locator("h1")).to_have_text("Connexion")
    page.fill("#id_username", "amina")
    page.fill("#id_password", "pass-w0rd-for-tests")
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/me/$"))


def test_wrong_password_says_so_and_stays_signed_out(open_page, world):
    page = open_page(locale="en-GB")
    sign_in(page, "amina", "not-the-password")
    expect(page.locator("#form-errors")).to_contain_text("correct")
    page.goto("/me/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_browser_language_is_honoured_on_first_visit(open_page, world):
    page = open_page(locale="ar-MA")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    page = open_page(locale="en-US")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("h1")).to_have_text("Région 2021 study cycle")


def test_switching_to_arabic_lays_the_page_out_right_to_left(open_page, world):
    page = open_page(locale="fr-FR")
    sign_in(page, "amina")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.click("button[data-lang=ar]")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    # Arabic text on the page, and the navigation starts on the right.
    nav = page.locator(".mainnav a").first
    assert re.search(r"[\u0600-\u06FF]", nav.inner_text())
    box = nav.bounding_box()
    assert box["x"] > page.viewport_size["width"] / 2 or page.viewport_size["width"] < 768
    # The choice sticks on the next page.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")


def test_landing_page_is_public_and_names_nobody(open_page, world):
    page = open_page()
    page.goto("/")
    expect(page.locator(".facts")).to_contain_text("12")
    body = page.content()
    assert world["trainee"].last_name not in body
    expect(page.locator("a[href='/verify/']").first).to_be_visible()
