"""Benchmark the certificate PDF renderer against plain ReportLab drawing the same page.

It prints certificates per second for:
  - certificates.pdf: `render_certificate_pdf`, as the worker calls it;
  - baseline: the same page (same fonts, same words, Arabic shaped the same way, the QR code
    as one path) written straightforwardly with canvas calls in this script;
and the ratio renderer / baseline (goal ≥ 0.7). Both render the same varied certificates in
interleaved rounds (the order alternates from round to round); the figures are medians of the
rounds. The chart goes to bench/out/certificates.svg, a sample of each output next to it.

No database and no Django: the renderer is a pure function.

Run:
    .venv/bin/python bench/certificates.py [--count 200] [--rounds 5]
"""

import argparse
import dataclasses
import io
import json
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import arabic_reshaper  # noqa: E402
import fontpkg_amiri  # noqa: E402
from bidi.algorithm import get_display  # noqa: E402
from reportlab.graphics.barcode import qrencoder  # noqa: E402
from reportlab.lib.colors import HexColor, black  # noqa: E402
from reportlab.lib.pagesizes import A4, landscape  # noqa: E402
from reportlab.lib.utils import simpleSplit  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from bench.charts import ratio_chart  # noqa: E402
from certificates.pdf import CertificateData, _texts, render_certificate_pdf  # noqa: E402

OUT = ROOT / "bench" / "out"
GOAL = 0.7

REGIONS = [
    ("MA-01", "Tanger-Tétouan-Al Hoceïma", "جهة طنجة تطوان الحسيمة"),
    ("MA-02", "L'Oriental", "جهة الشرق"),
    ("MA-04", "Rabat-Salé-Kénitra", "جهة الرباط سلا القنيطرة"),
    ("MA-06", "Casablanca-Settat", "جهة الدار البيضاء سطات"),
    ("MA-07", "Marrakech-Safi", "جهة مراكش آسفي"),
    ("MA-11", "Laâyoune-Sakia El Hamra", "جهة العيون الساقية الحمراء"),
]
NAMES = [
    ("Amina BENALI", "أمينة بنعلي"),
    ("Youssef EL AMRANI", "يوسف العمراني"),
    ("Fatima Zahra OUAZZANI", "فاطمة الزهراء الوزاني"),
    ("Mohammed TAZI", ""),
    ("Khadija BENNANI", "خديجة بناني"),
    ("Hassan IDRISSI", "حسن الإدريسي"),
]
COHORTS = ["Promotion 2019 — Centre", "Promotion 2019 — Nord", "Promotion 2020 — Sud"]
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def sample_certificates(count: int) -> list[CertificateData]:
    """Varied, realistic certificates (a fixed seed: every run renders the same ones)."""
    rng = random.Random(2021)
    certificates = []
    for index in range(count):
        code, region_fr, region_ar = rng.choice(REGIONS)
        name, name_ar = rng.choice(NAMES)
        year = rng.choice([2019, 2020, 2021])
        first = date(year, 2, 1) + timedelta(days=rng.randrange(60))
        raw = "".join(rng.choice(ALPHABET) for _ in range(17))
        certificates.append(
            CertificateData(
                serial=f"R2021-{year}-{code}-{index + 1:05d}",
                verification_code="-".join(raw[i : i + 4] for i in range(0, 17, 4)),
                verification_url=f"https://tracker.example/verify/{raw}",
                holder_name=name,
                holder_name_ar=name_ar,
                region_fr=region_fr,
                region_ar=region_ar,
                cohort_name=rng.choice(COHORTS),
                year=year,
                first_session=first,
                last_session=first + timedelta(days=200 + rng.randrange(60)),
                hours_attended=Decimal(rng.randrange(90, 140)) + Decimal(rng.choice([0, 0.5])),
                issued_on=first + timedelta(days=300),
                version=rng.choice([1, 1, 1, 2]),
            )
        )
    return certificates


# --- the baseline: the same page, plain canvas calls -------------------------------------------

FILES = fontpkg_amiri.ROOT / "files"
pdfmetrics.registerFont(TTFont("BaseAmiri", str(FILES / "Amiri-Regular.ttf")))
pdfmetrics.registerFont(TTFont("BaseAmiri-Bold", str(FILES / "Amiri-Bold.ttf")))
NAVY, INK, GREY, GOLD = (HexColor(c) for c in ("#1f3a5f", "#222222", "#5f6b76", "#a8843c"))


def ar(text: str) -> str:
    return get_display(arabic_reshaper.reshape(text), base_dir="R")


def ar_wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy wrap in logical order, each word measured shaped; then shape each line."""
    space = pdfmetrics.stringWidth(" ", font, size)
    lines, line, used = [], [], 0.0
    for word in text.split(" "):
        word_width = pdfmetrics.stringWidth(arabic_reshaper.reshape(word), font, size)
        if line and used + space + word_width > width:
            lines.append(" ".join(line))
            line, used = [], 0.0
        used += (space if line else 0) + word_width
        line.append(word)
    return [ar(line) for line in [*lines, " ".join(line)]]


def baseline_pdf(data: CertificateData) -> bytes:
    width, height = landscape(A4)
    column = (width - 80 - 64) / 2 - 16
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=(width, height), invariant=1, initialFontName="BaseAmiri")
    c.setTitle(f"Attestation de participation — {data.holder_name}")
    c.setAuthor("Cycle Région 2021")
    c.setSubject(f"Attestation {data.serial}")
    c.setStrokeColor(NAVY)
    c.setLineWidth(2.2)
    c.rect(22, 22, width - 44, height - 44)
    c.setStrokeColor(GOLD)
    c.setLineWidth(0.7)
    c.rect(29, 29, width - 58, height - 58)
    c.line(width / 2, 215, width / 2, height - 62)
    words = _texts(data)
    for language, centre in (("fr", 56 + column / 2), ("ar", width - 56 - column / 2)):
        w = words[language]
        shape = ar if language == "ar" else str
        c.setFillColor(NAVY)
        c.setFont("BaseAmiri-Bold", 10)
        c.drawCentredString(centre, height - 68, shape(w.programme))
        c.setFont("BaseAmiri-Bold", 27)
        c.drawCentredString(centre, height - 110, shape(w.title))
        c.setFillColor(INK)
        c.setFont("BaseAmiri", 12.5)
        c.drawCentredString(centre, height - 150, shape(w.intro))
        c.setFillColor(NAVY)
        c.setFont("BaseAmiri-Bold", 22)
        c.drawCentredString(centre, height - 181, shape(w.name))
        c.setFillColor(INK)
        c.setFont("BaseAmiri", 12)
        if language == "ar":
            body = ar_wrap(w.body, "BaseAmiri", 12, column)
        else:
            body = simpleSplit(w.body, "BaseAmiri", 12, column)
        for index, line in enumerate(body):
            c.drawCentredString(centre, height - 208 - 16.5 * index, line)
        y = height - 274
        for label, value in w.rows:
            c.setFillColor(GREY)
            c.setFont("BaseAmiri", 10.5)
            c.setFillColor(INK)
            c.setFont("BaseAmiri-Bold", 11)
            if language == "ar":
                c.drawRightString(centre + column / 2 - 8, y, shape(label))
                c.drawRightString(centre + column / 2 - 126, y, shape(value))
            else:
                c.drawString(centre - column / 2 + 8, y, label)
                c.drawString(centre - column / 2 + 126, y, value)
            y -= 15.5
        c.setFillColor(GREY)
        c.setFont("BaseAmiri", 9)
        if language == "ar":
            partners = ar_wrap(w.partners, "BaseAmiri", 9, column)
        else:
            partners = simpleSplit(w.partners, "BaseAmiri", 9, column)
        for index, line in enumerate(partners):
            c.drawCentredString(centre, y - 4 - 11 * index, line)
    for centre, french, arabic in ((146, "Le directeur du programme", "مدير البرنامج"),
                                   (width - 146, "Pour l’Association des Régions du Maroc",
                                    "عن جمعية جهات المغرب")):  # fmt: skip
        c.line(centre - 85, 90, centre + 85, 90)
        c.setFont("BaseAmiri", 9.5)
        c.drawCentredString(centre, 77, french)
        c.drawCentredString(centre, 64, ar(arabic))
    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(data.verification_url)
    qr.make()
    module = 86 / (qr.getModuleCount() + 8)
    left, top = (width - 86) / 2 + 4 * module, 70 + 86 - 4 * module
    path = c.beginPath()
    for row, modules in enumerate(qr.modules):
        for col, dark in enumerate(modules):
            if dark:
                path.rect(left + col * module, top - (row + 1) * module, module, module)
    c.setFillColor(black)
    c.drawPath(path, fill=1, stroke=0)
    c.setFont("BaseAmiri-Bold", 9)
    c.drawCentredString(width / 2, 62, data.verification_code)
    c.setFont("BaseAmiri", 7)
    c.drawCentredString(width / 2, 43, data.verification_url)
    c.showPage()
    c.save()
    return buffer.getvalue()


# --- measuring ---------------------------------------------------------------------------------


def timed_round(label: str, render, certificates: list[CertificateData], round_: int) -> float:
    """Render every certificate once; return certificates per second."""
    started = time.perf_counter()
    step = max(1, len(certificates) // 10)
    for index, data in enumerate(certificates, 1):
        render(data)
        if index % step == 0 or index == len(certificates):
            print(f"\r  round {round_}: {label:18} {index:5}/{len(certificates)}", end="",
                  flush=True)  # fmt: skip
    elapsed = time.perf_counter() - started
    rate = len(certificates) / elapsed
    print(f"\r  round {round_}: {label:18} {rate:7.1f} certificates/s{' ' * 12}", flush=True)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="certificates per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    args = parser.parse_args()

    certificates = sample_certificates(args.count)
    contenders = {"certificates.pdf": render_certificate_pdf, "plain ReportLab": baseline_pdf}
    for render in contenders.values():  # warm up: fonts parsed, caches filled, code imported
        render(certificates[0])
    OUT.mkdir(parents=True, exist_ok=True)
    sample = dataclasses.replace(certificates[0], version=1)
    (OUT / "certificate-sample.pdf").write_bytes(render_certificate_pdf(sample))
    (OUT / "certificate-baseline.pdf").write_bytes(baseline_pdf(sample))

    print(f"{args.count} certificates per round, {args.rounds} rounds, interleaved\n")
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(1, args.rounds + 1):
        order = list(contenders) if round_ % 2 else list(reversed(contenders))
        for name in order:
            rates[name].append(timed_round(name, contenders[name], certificates, round_))

    ours = statistics.median(rates["certificates.pdf"])
    base = statistics.median(rates["plain ReportLab"])
    ratio = ours / base
    print(f"\n{'renderer':18} {'median':>10}")
    print(f"{'certificates.pdf':18} {ours:7.1f}/s")
    print(f"{'plain ReportLab':18} {base:7.1f}/s")
    verdict = "meets" if ratio >= GOAL else "MISSES"
    print(f"ratio {ratio:.2f} ({verdict} the goal ≥ {GOAL})")

    (OUT / "certificates.json").write_text(json.dumps(
        {"count": args.count, "rounds": rates, "median": {"ours": ours, "baseline": base},
         "ratio": ratio}, indent=2))  # fmt: skip
    chart = ratio_chart(OUT / "certificates.svg", "Certificate PDFs: certificates.pdf / plain "
                        "ReportLab, throughput (higher is better)", ["certificates per second"],
                        {"certificates.pdf / baseline": [ratio]}, goal=GOAL)  # fmt: skip
    print(f"Chart: {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
