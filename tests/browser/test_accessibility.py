"""Automated accessibility checks of the main pages, in a real browser, in French and
Arabic: a language and a title, one h1, a label for every control, a name for every link
and button, charts with a text alternative, the skip link first on the keyboard, and text
contrast of at least WCAG AA (4.5:1, 3:1 for large text).

These checks cannot prove a page accessible; they catch what regresses most often.
"""

import pytest

from tests.browser.conftest import sign_in

AUDIT = """
() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const name = (el) => (el.getAttribute("aria-label") || "").trim()
    || (el.getAttribute("aria-labelledby") || "").split(" ").map(
         (id) => (document.getElementById(id) || {}).textContent || "").join(" ").trim()
    || (el.textContent || "").trim() || (el.getAttribute("title") || "").trim()
    || (el.value && el.type === "submit" ? el.value : "");
  if (!document.documentElement.lang) problems.push("html without lang");
  if (!document.title.trim()) problems.push("no title");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  document.querySelectorAll("input, select, textarea").forEach((el) => {
    if (["hidden", "submit", "button"].includes(el.type)) return;
    const labelled = (el.labels && el.labels.length) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby");
    if (!labelled) problems.push(`control without label: ${el.outerHTML.slice(0, 80)}`);
  });
  document.querySelectorAll("a[href], button").forEach((el) => {
    // Even an empty, zero-size link takes the keyboard's focus: only hidden ones are spared.
    const shown = el.checkVisibility({ visibilityProperty: true });
    if (shown && !name(el)) problems.push(`no name: ${el.outerHTML.slice(0, 80)}`);
  });
  document.querySelectorAll("img").forEach((el) => {
    if (!el.hasAttribute("alt")) problems.push(`img without alt: ${el.src}`);
  });
  document.querySelectorAll("svg").forEach((el) => {
    if (el.closest("[aria-hidden=true]")) return;
    const alt = el.getAttribute("aria-label") || el.querySelector("title")
      || el.closest("[role=img][aria-label]") || el.getAttribute("aria-hidden") === "true";
    if (!alt) problems.push("svg without a text alternative");
  });
  // Contrast of every visible element with text of its own.
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  document.querySelectorAll("body *").forEach((el) => {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el) || el.closest("svg")) return;
    const s = getComputedStyle(el);
    if (parseFloat(s.opacity) < 1) return;
    const fg = rgb(s.color).slice(0, 3), bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) problems.push(
      `contrast ${ratio.toFixed(2)} < ${needed}: "${el.textContent.trim().slice(0, 40)}"`);
  });
  return problems;
}
"""

PAGES = [
    (None, "/"),
    (None, "/login/"),
    (None, "/accounts/password-reset/"),
    (None, "/verify/credential/"),
    ("amina", "/me/"),
    ("manager-rsk", "/manage/"),
    ("manager-rsk", "sheet"),
    ("manager-rsk", "progress"),
    ("funder-afd", "/dashboard/"),
]


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_main_pages_pass_the_automated_accessibility_checks(open_page, world, language):
    paths = {
        "sheet": f"/manage/sessions/{world['running_sessions'][1].pk}/attendance/",
        "progress": f"/manage/cohorts/{world['running'].pk}/progress/",
    }
    found = {}
    page = None
    signed_in_as = "nobody"
    for account, path in PAGES + [(None, f"/verify/{world['certificate'].verification_code}")]:
        if account != signed_in_as:
            page = open_page(locale=language)
            if account:
                sign_in(page, account)
            signed_in_as = account
        page.goto(paths.get(path, path))
        if language == "ar" and page.locator("html").get_attribute("lang") != "ar":
            page.click("button[data-lang=ar]")
        problems = page.evaluate(AUDIT)
        if problems:
            found[paths.get(path, path)] = problems
    assert found == {}


def test_the_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_the_content(
    open_page, world
):
    page = open_page()
    sign_in(page, "amina")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.locator("a.skip").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_audit_finds_what_it_looks_for(open_page, world):
    """The checks above are only worth something if they can fail."""
    page = open_page()
    page.goto("/")
    page.evaluate(
        """() => {
          document.querySelector("main").insertAdjacentHTML("beforeend",
            '<h1>Second</h1><input name="nameless"><a href="/x"></a><img src="/y">' +
            '<svg width="10" height="10"><rect width="5" height="5"/></svg>' +
            '<p style="color:#aaa;background:#fff">pale text</p>');
        }"""
    )
    problems = page.evaluate(AUDIT)
    assert "2 h1 elements" in problems
    assert any(p.startswith("control without label") for p in problems)
    assert any(p.startswith("no name: <a") for p in problems)
    assert any(p.startswith("img without alt") for p in problems)
    assert "svg without a text alternative" in problems
    assert any(p.startswith("contrast") and "pale text" in p for p in problems)
