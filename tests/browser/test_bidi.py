"""Mixed-script text reads in the right order: Latin names, places, titles and codes inside
Arabic pages (and Arabic inside French ones) sit in isolating elements, so Chromium lays each
run out on its own, and the runs of a line follow each other in the reading order.

`MIXED` walks the rendered text: a text node with letters of one direction whose paragraph
(its nearest non-inline box) also holds letters of the other direction, outside any
isolate, is a mixed run left to the bidirectional algorithm: reported. `ORDER` reads where
Chromium drew given runs (Range.getClientRects) to check their visual order.
"""

import pytest

from tests.browser.conftest import sign_in

MIXED = """
() => {
  const LATIN = /[A-Za-z\\u00C0-\\u024F]/;
  const ARABIC = /[\\u0590-\\u08FF\\uFB1D-\\uFDFF\\uFE70-\\uFEFF]/;
  // Names of formats and standards a translation carries as they are, written by its author
  // in the sentence: the bidirectional algorithm lays them out as the author saw them.
  const TERMS = /\\b(PDF|CSV|JSON|JWT|QR|Excel|Open Badges|IATI|XLSX|SMS)\\b/g;
  // Runs between Unicode isolates (LRI, RLI or FSI … PDI) are isolated within the text.
  const letters = (text) => text.replace(/[\\u2066-\\u2068][^\\u2069]*\\u2069/g, "")
    .replace(TERMS, "");
  const isolates = (el) => el.hasAttribute("dir")
    || ["isolate", "isolate-override", "plaintext"].includes(getComputedStyle(el).unicodeBidi);
  const paragraph = (node) => {
    let el = node.parentElement;
    while (el && ["inline", "contents"].includes(getComputedStyle(el).display)) {
      el = el.parentElement;
    }
    return el;
  };
  // Is the node isolated below its paragraph (an isolating inline between them)?
  const isolatedIn = (node, para) => {
    for (let el = node.parentElement; el && el !== para; el = el.parentElement) {
      if (isolates(el)) return true;
    }
    return false;
  };
  // Left out: what is not laid out for the eye (scripts, hidden text for screen readers).
  const skipped = "script, style, svg, option, [aria-hidden=true], .visually-hidden";
  const problems = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (node.textContent.trim() && parent && !parent.closest(skipped) && parent.checkVisibility()) {
      nodes.push(node);
    }
  }
  for (const node of nodes) {
    const text = letters(node.textContent);
    const latin = LATIN.test(text), arabic = ARABIC.test(text);
    if (!latin && !arabic) continue;
    const para = paragraph(node);
    if (!para || isolatedIn(node, para)) continue;
    // What else this paragraph says outside isolates, beside this node.
    const others = letters(nodes.filter((n) => n !== node && para.contains(n)
      && !isolatedIn(n, para)).map((n) => n.textContent).join(" "));
    if ((latin && arabic) || (latin && ARABIC.test(others)) || (arabic && LATIN.test(others))) {
      problems.push(`not isolated: "${node.textContent.trim().slice(0, 50)}" in "${
        para.textContent.trim().replace(/\\s+/g, " ").slice(0, 80)}"`);
    }
  }
  return problems;
}
"""

# The horizontal middle of each element's first box, for the selectors given.
ORDER = """
(selectors) => selectors.map((selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const range = document.createRange();
  range.selectNodeContents(el);
  const box = range.getClientRects()[0];
  return box ? (box.left + box.right) / 2 : null;
})
"""


@pytest.fixture
def bidi_world(world):
    for session in world["running_sessions"]:
        session.city = "Rabat"
        session.venue = "Hôtel Atlas"
        session.save(update_fields=["city", "venue"])
    return world


def arabic_page(open_page, account=None):
    page = open_page(locale="ar")
    if account:
        sign_in(page, account)
    return page


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_mixed_runs_are_isolated_on_the_main_pages(open_page, bidi_world, language):
    world = bidi_world
    pages = [
        ("manager-rsk", f"/manage/sessions/{world['running_sessions'][1].pk}/attendance/"),
        ("amina", "/me/"),
        (None, f"/verify/{world['certificate'].verification_code}"),
        ("funder-afd", "/dashboard/"),
    ]
    found = {}
    for account, path in pages:
        page = open_page(locale=language)
        if account:
            sign_in(page, account)
        page.goto(path)
        if page.evaluate("document.documentElement.lang") != language:
            page.click(f"button[data-lang={language}]")
        problems = page.evaluate(MIXED)
        if problems:
            found[path] = problems
    report = "\n".join(f"{path}: {problem}" for path, ps in found.items() for problem in ps)
    assert not found, report


def test_the_attendance_sheet_reads_right_to_left_in_arabic(open_page, bidi_world):
    """The session's line: date and hours, then city, then venue, read from the right."""
    page = arabic_page(open_page, "manager-rsk")
    page.goto(f"/manage/sessions/{bidi_world['running_sessions'][1].pk}/attendance/")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    start, end, city, venue = page.evaluate(
        ORDER,
        [
            ".session-facts time:first-of-type",
            ".session-facts time:last-of-type",
            ".session-facts .city",
            ".session-facts .venue",
        ],
    )
    assert start > end > city > venue
    # The title after the page's own words: to their left.
    words, title = page.evaluate(ORDER, ["h1 .label", "h1 bdi"])
    assert words > title


def test_the_check_finds_a_latin_run_left_in_arabic(open_page, bidi_world):
    page = arabic_page(open_page)
    page.goto("/")
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
          '<p id="mixed">الحصة Atelier 1 في Rabat</p>' +
          '<p id="fine">الحصة <bdi>Atelier 1</bdi> في <span dir="ltr">Rabat</span></p>')"""
    )
    problems = [p for p in page.evaluate(MIXED) if "Atelier" in p]
    assert problems == ['not isolated: "الحصة Atelier 1 في Rabat" in "الحصة Atelier 1 في Rabat"']
