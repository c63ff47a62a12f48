"""Every page fits a phone and a laptop, in French, Arabic and English.

One browser; one context per role and screen size (signed in once), the language switched
through its cookie as the header's switcher leaves it. 29 pages: 11 public or account pages
(landing, sign-in, certificate verification form and result, digital credential
verification, password reset and its three follow-ups, setting a password from an
invitation, the monthly report's unsubscribe page), 1 trainee page, 6 manager pages (home,
sessions to record, a cohort's sessions, attendance sheet, a roster's history, cohort
progress), 2 funder pages (dashboard, settings) and 9 admin pages (index and the main
changelists) — 29 page × role combinations × 3 languages × 2 screen sizes = 174 visits.

On each, `LAYOUT` reports:

- the page wider than the *screen* (`scrollWidth` against the width set, not
  `window.innerWidth`: a mobile browser widens its layout viewport to fit wide content, so
  innerWidth grows with the page and would hide the overflow);
- an element lying outside the screen where nobody can reach it (outside any scroll box);
- text cut off or spilling out of its box;
- a box that scrolls sideways (a wide table) without a visible cue.
"""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.invitations import invitation_tokens
from reports.monthly_report import unsubscribe_token
from tests.browser.conftest import sign_in

LANGUAGES = ("fr", "ar", "en")
SIZES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "screen": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}

LAYOUT = """
(width) => {
  const problems = [];
  const describe = (el) => {
    const text = (el.innerText || el.textContent || "").trim().replace(/\\s+/g, " ");
    const classes = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    const id = el.id ? "#" + el.id : "";
    return `<${el.tagName.toLowerCase()}${id}${classes}> "${text.slice(0, 40)}"`;
  };
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const inScrollBox = (el) => {
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (scrolls(box)) return true;
    }
    return false;
  };
  window.scrollTo(0, 0);
  const page = document.documentElement.scrollWidth;
  if (page > width + 1) problems.push(`page ${page}px wide on a ${width}px screen`);
  const skip = "script, style, svg *, option, .visually-hidden, .visually-hidden *, .skip";
  for (const el of document.body.querySelectorAll("*")) {
    if (el.matches(skip) || !el.checkVisibility({ visibilityProperty: true })) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;
    const s = getComputedStyle(el);
    if (!inScrollBox(el) && (r.left < -1 || r.right > width + 1)) {
      const span = `${Math.round(r.left)} to ${Math.round(r.right)}px`;
      problems.push(`outside the screen (${span}): ${describe(el)}`);
    }
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const replaced = el.matches("input, select, textarea, button, img, svg, canvas, iframe");
    if (ownText && !replaced && !s.display.startsWith("inline") && !scrolls(el)
        && el.scrollWidth > el.clientWidth + 1) {
      const span = `${el.scrollWidth} > ${el.clientWidth}px`;
      problems.push(`text cut off or spilling out (${span}): ${describe(el)}`);
    }
    if (scrolls(el) && el.scrollWidth > el.clientWidth + 1 && el !== document.documentElement) {
      const cue = s.backgroundImage.includes("gradient") || el.hasAttribute("data-scroll-cue");
      if (!cue) problems.push(`scrolls sideways without a cue: ${describe(el)}`);
    }
  }
  return problems;
}
"""


@pytest.fixture
def layout_world(world):
    """The browser tests' programme, plus the links a person follows from an e-mail."""
    from django.contrib.auth import get_user_model

    invited = get_user_model().objects.create_user(
        username="invited@example.org", email="invited@example.org"
    )
    invited.set_unusable_password()
    invited.save()
    trainee = world["trainee_user"]
    trainee.email = "amina@example.org"
    trainee.save(update_fields=["email"])
    from cohorts.models import FunderProfile

    FunderProfile.objects.filter(user=world["funder"]).update(monthly_report=True)
    code = world["certificate"].verification_code
    pages = {
        None: [
            "/",
            "/login/",
            "/verify/",
            f"/verify/{code}",
            "/verify/credential/",
            "/accounts/password-reset/",
            "/accounts/password-reset/done/",
            f"/accounts/reset/{uid(trainee)}/{default_token_generator.make_token(trainee)}/",
            "/accounts/reset/done/",
            f"/accounts/set-password/{uid(invited)}/{invitation_tokens.make_token(invited)}/",
            f"/monthly-report/unsubscribe/{unsubscribe_token(world['funder'])}/",
        ],
        "amina": ["/me/"],
        "manager-rsk": [
            "/manage/",
            "/manage/sessions/",
            f"/manage/cohorts/{world['running'].pk}/sessions/",
            f"/manage/sessions/{world['running_sessions'][1].pk}/attendance/",
            f"/manage/sessions/{world['running_sessions'][0].pk}/history/",
            f"/manage/cohorts/{world['running'].pk}/progress/",
            "/admin/",
            "/admin/cohorts/participant/",
            "/admin/cohorts/cohort/",
            "/admin/cohorts/trainingsession/",
            "/admin/cohorts/enrolment/",
            "/admin/cohorts/attendance/",
            "/admin/certificates/certificate/",
            "/admin/certificates/completionrule/",
            "/admin/reports/target/",
        ],
        "funder-afd": ["/dashboard/", "/dashboard/settings/"],
    }
    return pages


def uid(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def check_layout(page, width: int) -> list[str]:
    return page.evaluate(LAYOUT, width)


# Long (about a minute): in `make test-slow`, which .ci/run runs too.
@pytest.mark.slow
def test_every_page_fits_the_screen_in_every_language(browser, live_server, layout_world):
    found: dict[str, list[str]] = {}
    visits = 0
    for size, options in SIZES.items():
        width = options["viewport"]["width"]
        for account, paths in layout_world.items():
            context = browser.new_context(base_url=live_server.url, **options)
            context.set_default_timeout(30_000)
            page = context.new_page()
            if account:
                sign_in(page, account)
            for language in LANGUAGES:
                context.add_cookies(
                    [{"name": "django_language", "value": language, "url": live_server.url}]
                )
                for path in paths:
                    response = page.goto(path)
                    assert response is not None and response.ok, (path, response)
                    assert page.evaluate("document.documentElement.lang").startswith(language)
                    visits += 1
                    problems = check_layout(page, width)
                    if problems:
                        found[f"{path} {language} {size}"] = problems
            context.close()
    report = "\n".join(f"{where}: {problem}" for where, ps in found.items() for problem in ps)
    assert not found, report
    assert visits == 174


def test_the_check_reports_a_wide_table_put_back(browser, live_server, layout_world):
    """The check is only worth something if it fails: a wide table, unwrapped, on a phone."""
    context = browser.new_context(base_url=live_server.url, **SIZES["phone"])
    page = context.new_page()
    context.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    sign_in(page, "manager-rsk")
    page.goto(layout_world["manager-rsk"][5])  # the cohort progress page
    assert check_layout(page, 390) == []
    # The progress table taken out of its scrolling box, as before the fix.
    page.evaluate(
        """() => {
          const table = document.querySelector("#progress");
          table.closest(".table-wrap").replaceWith(table);
        }"""
    )
    problems = check_layout(page, 390)
    assert any(p.startswith("page ") and "wide on a 390px screen" in p for p in problems)
    assert any(p.startswith("outside the screen") for p in problems)

    page.goto("/")
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
          '<p id="cut" style="width:10rem;overflow:hidden;white-space:nowrap">' +
          'A sentence far too long for the box that holds it on a phone</p>' +
          '<div id="bare" style="overflow-x:auto"><table><tr>' +
          '<td style="min-width:900px">a wide cell</td></tr></table></div>')"""
    )
    problems = check_layout(page, 390)
    assert any(p.startswith("text cut off") and "#cut" in p for p in problems)
    assert any(p.startswith("scrolls sideways without a cue") and "#bare" in p for p in problems)
    context.close()
