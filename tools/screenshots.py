"""Screenshots of the main pages, desktop and phone, French and Arabic: docs/screenshots/.

Starts the application on a scratch SQLite database with the demo data (as `make run`
does, in var/screenshots/), signs in as each demo account in headless Chromium and saves
one full-page PNG per page, language and device. Run with `make screenshots`.

Each image is looked at before it is kept: a blank or near-uniform one (what a page pushed
sideways out of a phone's screen gives) or a page wider than the screen fails the run,
naming the shots.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "Atlas-Rabat-2018"  # the demo accounts' (cohorts/demo.py)
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 860}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
LANGUAGES = ("fr", "ar")
# A page's screenshot has text, borders and a header: its grey levels spread (standard
# deviation ≥ 40 on every page today) and no single grey covers most of it (≤ 80 %). A
# blank one has a deviation near 0 and one grey everywhere.
MIN_STDDEV = 12.0
MAX_DOMINANT_SHARE = 0.95


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def looks_blank(path: Path) -> str | None:
    """Say why an image looks blank or near-uniform, or None if it shows something."""
    from PIL import Image, ImageStat

    with Image.open(path) as image:
        grey = image.convert("L")
    stddev = ImageStat.Stat(grey).stddev[0]
    histogram = grey.histogram()
    dominant = max(histogram) / sum(histogram)
    if stddev < MIN_STDDEV:
        return f"near-uniform (standard deviation {stddev:.1f} < {MIN_STDDEV})"
    if dominant > MAX_DOMINANT_SHARE:
        return f"{dominant:.0%} of it one grey level (> {MAX_DOMINANT_SHARE:.0%})"
    return None


def pick(env: dict) -> dict:
    """The examples the pages show: a certificate code, a session and a cohort of MA-04."""
    code = """
from certificates.models import Certificate
from cohorts.models import Participant, TrainingSession
from django.db.models import Count
from django.utils import timezone
trainee = Participant.objects.get(user__username="trainee")
certificate = Certificate.objects.filter(participant=trainee).first()
cohort = trainee.enrolments.order_by("-cohort__year").first().cohort
session = (TrainingSession.objects.filter(cohort=cohort, starts_at__lte=timezone.now())
           .annotate(n=Count("attendances")).order_by("n", "-starts_at").first())
print(certificate.verification_code, session.pk, cohort.pk)
"""
    # The last line: the shell may print its automatic imports first.
    last_line = manage(env, "shell", "-c", code).strip().splitlines()[-1]
    verification, session, cohort = last_line.split()
    return {"code": verification, "session": session, "cohort": cohort}


def shots(ids: dict) -> list[tuple[str, str | None, str]]:
    """(name, demo account or None for a visitor, path)."""
    return [
        ("landing", None, "/"),
        ("login", None, "/login/"),
        ("verify", None, f"/verify/{ids['code']}"),
        ("trainee", "trainee", "/me/"),
        ("manager-home", "manager-rsk", "/manage/"),
        ("attendance-sheet", "manager-rsk", f"/manage/sessions/{ids['session']}/attendance/"),
        ("cohort-progress", "manager-rsk", f"/manage/cohorts/{ids['cohort']}/progress/"),
        ("funder-dashboard", "funder-afd", "/dashboard/"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", help="comma-separated page names")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    scratch = ROOT / "var" / "screenshots"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}",
        "MEDIA_ROOT": str(scratch / "media"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    env.pop("REDIS_URL", None)
    print("demo data: migrate and seed (about a minute)…", flush=True)
    manage(env, "migrate", "--no-input")
    manage(env, "seed_demo")
    ids = pick(env)
    port = free_port()
    server = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only.split(",")) if args.only else None
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        todo = [s for s in shots(ids) if wanted is None or s[0] in wanted]
        total, done = len(todo) * len(LANGUAGES) * len(DEVICES), 0
        failures: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for name, account, path in todo:
                for language in LANGUAGES:
                    for device, options in DEVICES.items():
                        context = browser.new_context(base_url=base, locale=language, **options)
                        # The language chosen, as the switcher would leave it.
                        context.add_cookies(
                            [{"name": "django_language", "value": language, "url": base}]
                        )
                        page = context.new_page()
                        if account:
                            page.goto("/login/")
                            page.fill("#id_username", account)
                            page.fill("#id_password", PASSWORD)
                            page.click("main button[type=submit]")
                            page.wait_for_load_state()
                        page.goto(path)
                        page.wait_for_load_state("networkidle")
                        target = out / f"{name}-{language}-{device}.png"
                        # Desktop: the whole page; phone: the screen as the person sees
                        # it first (a fixed save bar stays where it is on a phone).
                        page.screenshot(path=str(target), full_page=device == "desktop")
                        # The screen's width, not innerWidth: a phone's browser widens its
                        # layout viewport to fit a page that is too wide.
                        width = page.evaluate("document.documentElement.scrollWidth")
                        screen = options["viewport"]["width"]
                        context.close()
                        done += 1
                        print(f"[{done}/{total}] {target}", flush=True)
                        if width > screen:
                            failures.append(f"{target.name}: page {width}px wide on {screen}px")
                        problem = looks_blank(target)
                        if problem:
                            failures.append(f"{target.name}: {problem}")
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    if failures:
        print("These screenshots need looking at:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
