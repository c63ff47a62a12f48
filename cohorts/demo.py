"""Synthetic demo data for the "Région 2021" cycle, and the demo accounts.

Planning is pure: a seeded `random.Random` decides every person, cohort, session and mark,
so one seed always gives the same data set. Writing uses `bulk_create` in batches inside
one transaction, so a run leaves the whole data set or nothing. The services are made for
interactive writes of a few rows; here the invariants they check are kept by construction,
and the database's constraints and trigger still check every row.

Demo rows are recognisable: participants have an e-mail at `DEMO_EMAIL_DOMAIN`, cohorts a
code such as `2019-nord` (small scale) or `2019-nord-042` (national scale).
"""

import itertools
import random
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import cast
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Count, ProtectedError, Q, QuerySet, RestrictedError

from cohorts.models import (
    Attendance,
    AttendanceHistory,
    Cohort,
    Enrolment,
    EnrolmentHistory,
    FunderProfile,
    ManagerProfile,
    Organisation,
    Participant,
    Programme,
    ProgressSummary,
    Region,
    TrainingSession,
)
from cohorts.progress import bulk_writes
from cohorts.roles import managers_group_sync
from cohorts.selectors import sessions_without_attendance

DEFAULT_SEED = 2021
DEMO_EMAIL_DOMAIN = "demo.region2021.ma"
# Shared by every demo account; it passes Django's password validators.
DEMO_PASSWORD = "Atlas-Rabat-2018"
PROGRAMME_CODE = "R2021"
BATCH_SIZE = 5000
CASABLANCA = ZoneInfo("Africa/Casablanca")
YEARS = (2018, 2019, 2020, 2021)

Progress = Callable[[str, int, int], None]


class DemoError(Exception):
    """The demo data cannot be loaded as asked; nothing was changed."""


@dataclass(frozen=True)
class Scale:
    name: str
    cohorts_per_group: int  # per group of regions and per year
    cohort_size: tuple[int, int]
    sessions_per_cohort: tuple[int, int]

    def cohort_code(self, year: int, group: str, number: int) -> str:
        return f"{year}-{group}" if self.cohorts_per_group == 1 else f"{year}-{group}-{number:03d}"


# Cohorts keep a plausible size (26–37 people) at both scales: the national scale has
# more cohorts, not bigger ones. 16 cohorts × ~31.5 ≈ 500 people; 1,584 ≈ 50,000.
# "half" and "double" exist for the benchmarks' growth runs (bench/report.py).
SCALES = {
    "small": Scale("small", 1, (26, 37), (18, 22)),
    "half": Scale("half", 50, (26, 37), (18, 22)),
    "national": Scale("national", 99, (26, 37), (18, 22)),
    "double": Scale("double", 198, (26, 37), (18, 22)),
}

# Every year, one cohort (or, at national scale, many) per group covers its three regions,
# so all twelve regions are covered every year.
REGION_GROUPS = (
    ("nord", "Nord", ("MA-01", "MA-02", "MA-03")),
    ("centre", "Centre", ("MA-04", "MA-05", "MA-06")),
    ("centre-sud", "Centre-Sud", ("MA-07", "MA-08", "MA-09")),
    ("sud", "Sud", ("MA-10", "MA-11", "MA-12")),
)
DEMO_COHORT_CODE = r"^20(18|19|20|21)-(nord|centre|centre-sud|sud)(-[0-9]{3})?$"
# The groups' names in Arabic, for the cohorts' Arabic names (the longest label first).
GROUP_LABELS_AR = (
    ("Centre-Sud", "الوسط الجنوبي"),
    ("Centre", "الوسط"),
    ("Nord", "الشمال"),
    ("Sud", "الجنوب"),
)


def cohort_name_ar(name: str) -> str:
    """A demo cohort's Arabic name: « Promotion 2019 — Nord » → « فوج 2019 — الشمال »."""
    for label, arabic in GROUP_LABELS_AR:
        if f"— {label}" in name:
            name = name.replace(f"— {label}", f"— {arabic}", 1)
            break
    return name.replace("Promotion", "فوج", 1)


# Seats on each regional council (2015 elections): bigger regions send more people.
COUNCIL_SEATS = {
    "MA-01": 63,
    "MA-02": 51,
    "MA-03": 69,
    "MA-04": 75,
    "MA-05": 57,
    "MA-06": 75,
    "MA-07": 75,
    "MA-08": 45,
    "MA-09": 57,
    "MA-10": 39,
    "MA-11": 39,
    "MA-12": 33,
}

# People --------------------------------------------------------------------------------

FEMALE_FIRST_NAMES = (
    ("Fatima Zahra", "فاطمة الزهراء"),
    ("Khadija", "خديجة"),
    ("Aicha", "عائشة"),
    ("Meryem", "مريم"),
    ("Salma", "سلمى"),
    ("Nadia", "نادية"),
    ("Latifa", "لطيفة"),
    ("Naima", "نعيمة"),
    ("Hanane", "حنان"),
    ("Samira", "سميرة"),
    ("Souad", "سعاد"),
    ("Karima", "كريمة"),
    ("Zineb", "زينب"),
    ("Hajar", "هاجر"),
    ("Imane", "إيمان"),
    ("Asmae", "أسماء"),
    ("Loubna", "لبنى"),
    ("Nawal", "نوال"),
    ("Rachida", "رشيدة"),
    ("Saida", "سعيدة"),
    ("Malika", "مليكة"),
    ("Amina", "أمينة"),
    ("Houda", "هدى"),
    ("Siham", "سهام"),
    ("Btissam", "ابتسام"),
    ("Ghizlane", "غزلان"),
    ("Sanae", "سناء"),
    ("Wafae", "وفاء"),
    ("Kaoutar", "كوثر"),
    ("Hind", "هند"),
    ("Laila", "ليلى"),
    ("Najat", "نجاة"),
    ("Jamila", "جميلة"),
    ("Bouchra", "بشرى"),
    ("Ilham", "إلهام"),
    ("Rajae", "رجاء"),
    ("Sara", "سارة"),
    ("Yasmine", "ياسمين"),
    ("Oumaima", "أميمة"),
    ("Chaimae", "شيماء"),
    ("Fadwa", "فدوى"),
    ("Nezha", "نزهة"),
)
MALE_FIRST_NAMES = (
    ("Mohammed", "محمد"),
    ("Ahmed", "أحمد"),
    ("Abdelaziz", "عبد العزيز"),
    ("Abdellah", "عبد الله"),
    ("Youssef", "يوسف"),
    ("Hassan", "حسن"),
    ("Hicham", "هشام"),
    ("Rachid", "رشيد"),
    ("Mustapha", "مصطفى"),
    ("Said", "سعيد"),
    ("Karim", "كريم"),
    ("Khalid", "خالد"),
    ("Omar", "عمر"),
    ("Driss", "إدريس"),
    ("Mehdi", "مهدي"),
    ("Anas", "أنس"),
    ("Hamza", "حمزة"),
    ("Yassine", "ياسين"),
    ("Aziz", "عزيز"),
    ("Abderrahim", "عبد الرحيم"),
    ("Abdelkader", "عبد القادر"),
    ("Abdelilah", "عبد الإله"),
    ("Mohamed Amine", "محمد أمين"),
    ("Noureddine", "نور الدين"),
    ("Jamal", "جمال"),
    ("Brahim", "إبراهيم"),
    ("Lahcen", "لحسن"),
    ("Mbarek", "امبارك"),
    ("Hamid", "حميد"),
    ("Abdeslam", "عبد السلام"),
    ("Redouane", "رضوان"),
    ("Tarik", "طارق"),
    ("Adil", "عادل"),
    ("Nabil", "نبيل"),
    ("Othmane", "عثمان"),
    ("Ayoub", "أيوب"),
    ("Badr", "بدر"),
    ("Soufiane", "سفيان"),
    ("Ali", "علي"),
    ("Ismail", "إسماعيل"),
    ("Abdelhak", "عبد الحق"),
    ("Larbi", "العربي"),
)
FAMILY_NAMES = (
    ("El Amrani", "العمراني"),
    ("Benjelloun", "بنجلون"),
    ("El Idrissi", "الإدريسي"),
    ("Alaoui", "العلوي"),
    ("Bennani", "بناني"),
    ("Tazi", "التازي"),
    ("Berrada", "برادة"),
    ("El Fassi", "الفاسي"),
    ("Chraibi", "الشرايبي"),
    ("Lahlou", "لحلو"),
    ("Sqalli", "السقلي"),
    ("Kettani", "الكتاني"),
    ("Ouazzani", "الوزاني"),
    ("El Mansouri", "المنصوري"),
    ("Ziani", "الزياني"),
    ("Bouzid", "بوزيد"),
    ("El Khattabi", "الخطابي"),
    ("Naciri", "الناصري"),
    ("Benali", "بنعلي"),
    ("El Hachimi", "الهاشمي"),
    ("Tahiri", "الطاهري"),
    ("Cherkaoui", "الشرقاوي"),
    ("Ghazouani", "الغزواني"),
    ("Belhaj", "بلحاج"),
    ("Bensaid", "بنسعيد"),
    ("El Moussaoui", "الموساوي"),
    ("Ait Taleb", "آيت الطالب"),
    ("Ait Lahcen", "آيت لحسن"),
    ("Zerouali", "الزروالي"),
    ("El Alami", "العلمي"),
    ("Filali", "الفيلالي"),
    ("Sebti", "السبتي"),
    ("Bennis", "بنيس"),
    ("Guessous", "جسوس"),
    ("Lazrak", "الأزرق"),
    ("El Ouardi", "الوردي"),
    ("Hajji", "الحجي"),
    ("Boukhari", "البخاري"),
    ("Belkadi", "بلقاضي"),
    ("Essaidi", "السعيدي"),
    ("Mernissi", "المرنيسي"),
    ("Doukkali", "الدكالي"),
    ("Soussi", "السوسي"),
    ("Rifi", "الريفي"),
    ("Oujdi", "الوجدي"),
    ("El Baz", "الباز"),
    ("Chafik", "شفيق"),
    ("Mouline", "مولين"),
    ("Kabbaj", "القباج"),
    ("Benabdellah", "بنعبد الله"),
    ("Raji", "الراجي"),
    ("Amzil", "أمزيل"),
    ("Ouchen", "أوشن"),
    ("El Yacoubi", "اليعقوبي"),
    ("Hilali", "الهلالي"),
    ("Sabri", "صبري"),
    ("Jabri", "الجابري"),
    ("El Hassani", "الحسني"),
    ("Moutawakil", "المتوكل"),
    ("Benmoussa", "بنموسى"),
    ("Bakkali", "البقالي"),
)

# (masculine, feminine, weight for men, weight for women): senior posts are held by
# fewer women, so the share of women varies by position as well as by role.
ELECTED_POSITIONS = (
    ("Vice-président", "Vice-présidente", 12, 9),
    ("Président de commission", "Présidente de commission", 10, 7),
    ("Vice-président de commission", "Vice-présidente de commission", 7, 7),
    ("Secrétaire du Conseil", "Secrétaire du Conseil", 3, 4),
    ("Rapporteur du budget", "Rapporteure du budget", 3, 3),
    ("Conseiller régional", "Conseillère régionale", 60, 62),
)
STAFF_POSITIONS = (
    ("Directeur général des services", "Directrice générale des services", 2, 0.6),
    (
        "Directeur de l'Agence régionale d'exécution des projets",
        "Directrice de l'Agence régionale d'exécution des projets",
        1.5,
        0.5,
    ),
    ("Directeur des affaires financières", "Directrice des affaires financières", 2, 1),
    ("Chef de division", "Cheffe de division", 10, 6),
    ("Chef de service", "Cheffe de service", 14, 12),
    ("Ingénieur", "Ingénieure", 14, 11),
    ("Administrateur", "Administratrice", 16, 20),
    ("Chargé de mission", "Chargée de mission", 8, 10),
    ("Technicien", "Technicienne", 10, 5),
    ("Cadre financier", "Cadre financière", 6, 8),
    ("Juriste", "Juriste", 4, 6),
    ("Architecte", "Architecte", 2, 2),
    ("Responsable de la communication", "Responsable de la communication", 2, 3),
    ("Responsable des ressources humaines", "Responsable des ressources humaines", 2, 3),
)
ELECTED_SHARE = 0.35
WOMEN_SHARE = {Participant.Role.ELECTED: 0.34, Participant.Role.STAFF: 0.26}
# Languages: French, Arabic, English; élus ask for Arabic more often than staff.
LANGUAGE_WEIGHTS = {
    Participant.Role.ELECTED: (60, 36, 4),
    Participant.Role.STAFF: (75, 18, 7),
}
ARABIC_NAME_SHARE = 0.9
WITHDRAWAL_SHARE = 0.055
# Keyed by the role's value: `PersonPlan.role` is a plain str.
WITHDRAWAL_REASONS: dict[str, tuple[str, ...]] = {
    Participant.Role.ELECTED: (
        "Raisons de santé",
        "Raisons familiales",
        "Charge de travail",
        "Démission du conseil",
        "Indisponibilité prolongée",
    ),
    Participant.Role.STAFF: (
        "Mutation professionnelle",
        "Raisons de santé",
        "Raisons familiales",
        "Charge de travail",
        "Départ à la retraite",
    ),
}
# The regional elections of 8 September 2021 ended the mandates of the élus not
# re-elected: some élus of 2021 cohorts leave right after.
ELECTION_DAY = date(2021, 9, 8)
ELECTION_REASON = "Fin de mandat (élections du 8 septembre 2021)"
LEFT_AFTER_ELECTION_SHARE = 0.12
EXCUSE_NOTES = (
    "Certificat médical",
    "Mission officielle",
    "Session du Conseil régional",
    "Raisons familiales",
    "Réunion de commission",
)

# Sessions ------------------------------------------------------------------------------

THEMES = (
    "Gouvernance territoriale",
    "Finances régionales",
    "Planification et développement régional",
    "Coopération décentralisée",
    "Attractivité économique",
    "Gestion des ressources humaines",
    "Numérique et e-administration",
    "Environnement et changement climatique",
    "Démocratie participative",
    "Égalité femmes-hommes et approche genre",
    "Commande publique",
    "Suivi et évaluation des projets",
)
VENUES = (
    ("Siège du Conseil régional", 5),
    ("Centre régional d'investissement", 2),
    ("Agence régionale d'exécution des projets", 2),
    ("Chambre de commerce, d'industrie et de services", 1),
)
# The cycle was launched in Casablanca on 25 June 2018; its first sessions follow.
FIRST_SESSION_DAY = date(2018, 7, 2)
RECRUITMENT_DAYS = 60  # a cohort's enrolments open this long before its first session
# Fixed public holidays (month, day), and the religious ones of 2018–2021 as observed in
# Morocco (the moon decides, so within a day).
FIXED_HOLIDAYS = {(1, 1), (1, 11), (5, 1), (7, 30), (8, 14), (8, 20), (8, 21), (11, 6), (11, 18)}
RELIGIOUS_HOLIDAYS = {
    date(2018, 6, 15),
    date(2018, 8, 22),
    date(2018, 9, 12),
    date(2018, 11, 21),
    date(2019, 6, 5),
    date(2019, 8, 12),
    date(2019, 9, 1),
    date(2019, 11, 10),
    date(2020, 5, 24),
    date(2020, 7, 31),
    date(2020, 10, 30),
    date(2020, 5, 25),
    date(2021, 5, 13),
    date(2021, 7, 21),
    date(2021, 10, 19),
}
# The state of health emergency (20 March 2020) moved training online; lockdown lasted
# until 10 June 2020, and sessions stayed partly remote afterwards.
LOCKDOWN = (date(2020, 3, 16), date(2020, 6, 10))
IN_PERSON, REMOTE, HYBRID = (
    TrainingSession.Modality.IN_PERSON,
    TrainingSession.Modality.REMOTE,
    TrainingSession.Modality.HYBRID,
)
# Share of the last sessions (from October 2021) left without attendance, so that the
# managers' "not recorded" list has something to show.
UNRECORDED_FROM = date(2021, 10, 1)
UNRECORDED_SHARE = 0.02


# Plan ----------------------------------------------------------------------------------


@dataclass(slots=True)
class SessionPlan:
    title: str
    theme: str
    day: date
    starts_at: datetime
    ends_at: datetime
    city: str
    venue: str
    online_url: str
    modality: str
    planned_hours: Decimal
    recorded_at: datetime
    recorded: bool = True
    pk: int | None = None


@dataclass(slots=True)
class PersonPlan:
    first_name: str
    last_name: str
    first_name_ar: str
    last_name_ar: str
    sex: str
    role: str
    position: str
    region: str
    email: str
    phone: str
    preferred_language: str
    consent_date: date
    enrolled_on: date
    propensity: float  # chance of attending a session
    lateness: float  # chance of arriving late when attending
    sessions_followed: int  # sessions before withdrawal, or all of them
    withdrawn_on: date | None = None
    withdrawal_reason: str = ""
    pk: int | None = None


@dataclass(slots=True)
class CohortPlan:
    code: str
    name: str
    year: int
    regions: tuple[str, ...]
    sessions: list[SessionPlan]
    members: list[PersonPlan]
    pk: int | None = None


@dataclass
class DemoPlan:
    seed: int
    scale: Scale
    cohorts: list[CohortPlan]

    @property
    def people(self) -> Iterator[PersonPlan]:
        return (p for c in self.cohorts for p in c.members)

    @property
    def sessions(self) -> Iterator[SessionPlan]:
        return (s for c in self.cohorts for s in c.sessions)

    @property
    def mark_count(self) -> int:
        """Count the marks `plan_marks` will make: every recorded session followed."""
        return sum(
            sum(s.recorded for s in c.sessions[: p.sessions_followed])
            for c in self.cohorts
            for p in c.members
        )


def plan(*, seed: int, scale: Scale, capitals: Mapping[str, str]) -> DemoPlan:
    """Plan the whole data set from the seed, without touching the database."""
    rng = random.Random(seed)
    numbers = itertools.count(1)
    cohorts = [
        _plan_cohort(rng, scale, year, group, number, capitals, numbers)
        for year in YEARS
        for group in REGION_GROUPS
        for number in range(1, scale.cohorts_per_group + 1)
    ]
    # The demo trainee's cohort (the first of their region's in their year) is recorded in
    # full: a session left unrecorded would block the certificate the demo shows them.
    trainee_cohort = next(
        c for c in cohorts if c.year == TRAINEE_YEAR and MANAGED_REGION in c.regions
    )
    late_sessions = [
        s
        for c in cohorts
        if c is not trainee_cohort
        for s in c.sessions
        if s.day >= UNRECORDED_FROM
    ]
    count = min(len(late_sessions), max(2, round(UNRECORDED_SHARE * len(late_sessions))))
    for session in rng.sample(late_sessions, count):
        session.recorded = False
    return DemoPlan(seed=seed, scale=scale, cohorts=cohorts)


def _plan_cohort(rng, scale, year, group, number, capitals, numbers) -> CohortPlan:
    slug, label, regions = group
    code = scale.cohort_code(year, slug, number)
    name = f"Promotion {year} — {label}"
    if scale.cohorts_per_group > 1:
        name += f" {number:03d}"
    days = _session_days(rng, year, rng.randint(*scale.sessions_per_cohort))
    # The host region rotates, so each region of the cohort receives its share.
    hosts = list(regions)
    rng.shuffle(hosts)
    themes = rng.sample(THEMES, len(THEMES))
    sessions = []
    for index, day in enumerate(days):
        if index == 0:
            title, theme = "Séminaire d'ouverture", THEMES[0]
        elif index == len(days) - 1:
            title, theme = "Séminaire de clôture et restitution des projets", THEMES[2]
        else:
            theme = themes[(index - 1) % len(themes)]
            title = f"Module {index} — {theme}"
        city = capitals[hosts[index % len(hosts)]]
        sessions.append(_plan_session(rng, code, index, day, title, theme, city))
    members = [
        _plan_person(rng, year, regions, days, next(numbers))
        for _ in range(rng.randint(*scale.cohort_size))
    ]
    return CohortPlan(code, name, year, regions, sessions, members)


@cache
def _open_days(year: int) -> tuple[date, ...]:
    """Weekdays of the year fit for a session: no holiday, no August."""
    first = FIRST_SESSION_DAY if year == FIRST_SESSION_DAY.year else date(year, 1, 15)
    last = date(year, 12, 15)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return tuple(
        d
        for d in days
        if d.weekday() < 5
        and d.month != 8
        and (d.month, d.day) not in FIXED_HOLIDAYS
        and d not in RELIGIOUS_HOLIDAYS
    )


def _session_days(rng: random.Random, year: int, count: int) -> list[date]:
    """Spread `count` distinct days over the year: one in each equal stretch."""
    days = _open_days(year)
    step = len(days) / count
    return [days[rng.randrange(round(i * step), round((i + 1) * step))] for i in range(count)]


def _modality(rng: random.Random, day: date) -> str:
    if LOCKDOWN[0] <= day <= LOCKDOWN[1]:
        return REMOTE
    if day.year == 2020 and day > LOCKDOWN[1]:
        weights = (15, 55, 30)
    elif day.year == 2021:
        weights = (50, 20, 30)
    else:
        weights = (88, 5, 7)
    return rng.choices((IN_PERSON, REMOTE, HYBRID), weights)[0]


def _plan_session(rng, code, index, day, title, theme, city) -> SessionPlan:
    modality = _modality(rng, day)
    starts_at = datetime(day.year, day.month, day.day, 9, 0, tzinfo=CASABLANCA)
    hours = rng.choice((6, 7, 7))
    ends_at = starts_at + timedelta(hours=hours + 1)  # an hour's lunch break
    venue = "" if modality == REMOTE else _weighted(rng, VENUES)
    online_url = (
        "" if modality == IN_PERSON else f"https://visio.{DEMO_EMAIL_DOMAIN}/{code}/{index + 1}"
    )
    # Most rosters are taken in the room; the others are typed in within a few days.
    if rng.random() < 0.75:
        recorded_at = starts_at + timedelta(minutes=rng.randint(5, 45))
    else:
        recorded_at = ends_at + timedelta(hours=rng.randint(1, 96))
    return SessionPlan(
        title=title,
        theme=theme,
        day=day,
        starts_at=starts_at,
        ends_at=ends_at,
        city=city,
        venue=venue,
        online_url=online_url,
        modality=modality,
        planned_hours=Decimal(hours),
        recorded_at=recorded_at,
    )


def _plan_person(rng, year, regions, days, number) -> PersonPlan:
    region = rng.choices(regions, [COUNCIL_SEATS[r] for r in regions])[0]
    role = Participant.Role.ELECTED if rng.random() < ELECTED_SHARE else Participant.Role.STAFF
    female = rng.random() < WOMEN_SHARE[role]
    first_name, first_name_ar = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
    last_name, last_name_ar = rng.choice(FAMILY_NAMES)
    if rng.random() >= ARABIC_NAME_SHARE:
        first_name_ar = last_name_ar = ""
    positions = ELECTED_POSITIONS if role == Participant.Role.ELECTED else STAFF_POSITIONS
    position = rng.choices(
        [p[1] if female else p[0] for p in positions], [p[3] if female else p[2] for p in positions]
    )[0]
    language = rng.choices(("fr", "ar", "en"), LANGUAGE_WEIGHTS[role])[0]
    phone = "" if rng.random() < 0.05 else f"+2126{rng.randrange(10**8):08d}"
    enrolled_on = days[0] - timedelta(days=rng.randint(7, 45))
    # Most people come to nearly everything; a tail comes much less.
    tier = rng.random()
    if tier < 0.78:
        propensity = rng.uniform(0.86, 1.0)
    elif tier < 0.93:
        propensity = rng.uniform(0.65, 0.86)
    else:
        propensity = rng.uniform(0.3, 0.65)
    person = PersonPlan(
        first_name=first_name,
        last_name=last_name,
        first_name_ar=first_name_ar,
        last_name_ar=last_name_ar,
        sex=Participant.Sex.FEMALE if female else Participant.Sex.MALE,
        role=role,
        position=position,
        region=region,
        email=f"{_ascii_slug(first_name)}.{_ascii_slug(last_name)}.{number}@{DEMO_EMAIL_DOMAIN}",
        phone=phone,
        preferred_language=language,
        consent_date=enrolled_on - timedelta(days=rng.randint(0, 14)),
        enrolled_on=enrolled_on,
        propensity=propensity,
        lateness=0.15 if rng.random() < 0.15 else 0.03,
        sessions_followed=len(days),
    )
    _maybe_withdraw(rng, person, year, days)
    return person


def _maybe_withdraw(rng, person: PersonPlan, year: int, days: Sequence[date]) -> None:
    """Decide whether the person leaves mid-way, and when: between two sessions."""
    after = None
    if (
        year == ELECTION_DAY.year
        and person.role == Participant.Role.ELECTED
        and rng.random() < LEFT_AFTER_ELECTION_SHARE
    ):
        after = next((i for i, d in enumerate(days) if d > ELECTION_DAY), None)
        reason = ELECTION_REASON
    if after is None or after < 2:
        if rng.random() >= WITHDRAWAL_SHARE:
            return
        after = rng.randint(2, len(days) - 2)
        reason = rng.choice(WITHDRAWAL_REASONS[person.role])
    # Marks stop at the last session on or before the withdrawal day (`cohort_roster`).
    first = days[after - 1]
    if reason == ELECTION_REASON:
        day_before_next = days[after] - timedelta(days=1)
        first = max(first, min(ELECTION_DAY + timedelta(days=1), day_before_next))
    person.withdrawn_on = first + timedelta(days=rng.randint(0, (days[after] - first).days - 1))
    person.withdrawal_reason = reason
    person.sessions_followed = after
    # People about to leave were already coming less.
    person.propensity *= 0.8


def _weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    return rng.choices([c[0] for c in choices], [c[1] for c in choices])[0]


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def plan_marks(
    seed: int, cohort: CohortPlan
) -> Iterator[tuple[PersonPlan, SessionPlan, str, int | None, str]]:
    """Yield each mark of a cohort: (person, session, status, minutes attended, note).

    Each cohort draws from its own generator, so its marks do not depend on the others.
    """
    rng = random.Random(f"{seed}:{cohort.code}:marks")
    # Some days everybody is busier (a council session, the weather, a remote link).
    turnout = [rng.uniform(0.9, 1.0) for _ in cohort.sessions]
    for person in cohort.members:
        for index, session in enumerate(cohort.sessions[: person.sessions_followed]):
            if not session.recorded:
                continue
            if rng.random() < person.propensity * turnout[index]:
                if rng.random() < person.lateness:
                    delay = rng.choice((15, 20, 30, 45, 60, 90))
                    minutes = int(session.planned_hours * 60) - delay
                    yield person, session, Attendance.Status.LATE, minutes, ""
                else:
                    yield person, session, Attendance.Status.PRESENT, None, ""
            elif rng.random() < 0.45:
                note = rng.choice(EXCUSE_NOTES) if rng.random() < 0.7 else ""
                yield person, session, Attendance.Status.EXCUSED, None, note
            else:
                yield person, session, Attendance.Status.ABSENT, None, ""


# Database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCounts:
    participants: int
    cohorts: int
    sessions: int
    enrolments: int
    withdrawn: int
    marks: int
    unrecorded_sessions: int


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    password: str
    sees: str


@dataclass
class Outcome:
    action: str  # "generated", "kept" or "rebuilt"
    scale: str | None
    counts: DemoCounts
    accounts: list[Account] = field(default_factory=list)


def demo_cohorts() -> QuerySet[Cohort]:
    return Cohort.objects.filter(code__regex=DEMO_COHORT_CODE)


def demo_participants() -> QuerySet[Participant]:
    return Participant.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}")


def demo_counts() -> DemoCounts:
    """Count the demo rows in the database."""
    cohorts = demo_cohorts()
    enrolments = Enrolment.objects.filter(cohort__in=cohorts)
    sessions = TrainingSession.objects.filter(cohort__in=cohorts)
    return DemoCounts(
        participants=demo_participants().count(),
        cohorts=cohorts.count(),
        sessions=sessions.count(),
        enrolments=enrolments.count(),
        withdrawn=enrolments.filter(status=Enrolment.Status.WITHDRAWN).count(),
        marks=Attendance.objects.filter(session__in=sessions).count(),
        unrecorded_sessions=sessions_without_attendance(cohorts).count(),
    )


def loaded_scale() -> str | None:
    """Name the scale of the demo data in the database: None if none, "unknown" if odd."""
    cohorts = demo_cohorts()
    if not cohorts.exists() and not demo_participants().exists():
        return None
    first = YEARS[0], REGION_GROUPS[0][0]
    for name, scale in SCALES.items():
        # The scales differ in their number of cohorts: the last one there, not one more.
        last = scale.cohort_code(*first, scale.cohorts_per_group)
        beyond = f"{first[0]}-{first[1]}-{scale.cohorts_per_group + 1:03d}"
        if cohorts.filter(code=last).exists() and not cohorts.filter(code=beyond).exists():
            return name
    return "unknown"


@transaction.atomic
def delete_demo(progress: Progress | None = None) -> None:
    """Delete the demo rows; regions, the programme and organisations stay.

    Everything in a demo cohort goes, and every demo participant, but a cohort holding
    anyone else is refused: the demo never deletes real people's records.
    """
    progress = progress or _silent
    cohorts = demo_cohorts()
    people = demo_participants()
    outsiders = list(
        Enrolment.objects.filter(cohort__in=cohorts)
        .exclude(participant__in=people)
        .values_list("cohort__code", flat=True)
        .distinct()[:5]
    )
    if outsiders:
        raise DemoError(
            "Cohorts with a demo code hold participants who are not demo data "
            f"({', '.join(sorted(outsiders))}): nothing was deleted."
        )
    sessions = TrainingSession.objects.filter(cohort__in=cohorts)
    enrolments = Enrolment.objects.filter(Q(cohort__in=cohorts) | Q(participant__in=people))
    # Children first: the foreign keys protect what is still referenced.
    marks = Attendance.objects.filter(Q(participant__in=people) | Q(session__in=sessions))
    steps: list[QuerySet | _RawDelete] = [
        AttendanceHistory.objects.filter(Q(participant__in=people) | Q(session__in=sessions)),
        # A plain DELETE: nothing points at a mark, and a million marks are not loaded to
        # send their post_delete signal (cohorts.signals; the summaries are rebuilt after).
        _RawDelete(marks),
        ProgressSummary.objects.filter(enrolment__in=enrolments),
        EnrolmentHistory.objects.filter(enrolment__in=enrolments),
        enrolments,
        sessions,
        cohorts,
        people,
    ]
    progress("deleting", 0, len(steps))
    for done, queryset in enumerate(steps, start=1):
        try:
            queryset.delete()
        except (ProtectedError, RestrictedError) as exc:
            blocking = (
                exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            )
            names = sorted({str(obj._meta.verbose_name_plural) for obj in blocking})
            raise DemoError(
                f"Other records still point at the demo data ({', '.join(names)}); "
                "delete them first. Nothing was deleted."
            ) from exc
        progress("deleting", done, len(steps))


class _RawDelete:
    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset

    def delete(self) -> None:
        self.queryset._raw_delete(self.queryset.db)


def _silent(phase: str, done: int, total: int) -> None:
    pass


def write_plan(demo: DemoPlan, *, recorded_by=None, progress: Progress | None = None) -> None:
    """Write a planned data set with bulk inserts, one phase per table.

    Each planned cohort, person and session gets the `pk` of its row, for the rows that
    refer to it.
    """
    progress = progress or _silent
    programme = Programme.objects.filter(code=PROGRAMME_CODE).first()
    if programme is None:
        raise DemoError(f"The programme {PROGRAMME_CODE} is missing: run `migrate` first.")
    _check_dates(demo, programme)

    cohorts = Cohort.objects.bulk_create(
        [
            Cohort(
                programme=programme,
                code=c.code,
                name=c.name,
                name_ar=cohort_name_ar(c.name),
                year=c.year,
                # Recruitment opens two months before the opening seminar (people enrol
                # 7 to 45 days before it); the cohort closes with its last session.
                starts_on=c.sessions[0].day - timedelta(days=RECRUITMENT_DAYS),
                ends_on=c.sessions[-1].day,
            )
            for c in demo.cohorts
        ],
        batch_size=BATCH_SIZE,
    )
    for cohort, obj in zip(demo.cohorts, cohorts, strict=True):
        cohort.pk = _pk(obj)
    through = Cohort.regions.through
    through.objects.bulk_create(
        [through(cohort_id=c.pk, region_id=code) for c in demo.cohorts for code in c.regions],
        batch_size=BATCH_SIZE,
    )
    progress("cohorts", len(cohorts), len(cohorts))

    people = list(demo.people)
    for batch in _batches(people, progress, "participants"):
        participants = Participant.objects.bulk_create(
            [
                Participant(
                    first_name=p.first_name,
                    last_name=p.last_name,
                    first_name_ar=p.first_name_ar,
                    last_name_ar=p.last_name_ar,
                    sex=p.sex,
                    role=p.role,
                    position=p.position,
                    region_id=p.region,
                    email=p.email,
                    phone=p.phone,
                    preferred_language=p.preferred_language,
                    consent_date=p.consent_date,
                )
                for p in batch
            ]
        )
        for person, participant in zip(batch, participants, strict=True):
            person.pk = _pk(participant)

    sessions = [(c, s) for c in demo.cohorts for s in c.sessions]
    for batch in _batches(sessions, progress, "sessions"):
        training_sessions = TrainingSession.objects.bulk_create(
            [
                TrainingSession(
                    cohort_id=c.pk,
                    title=s.title,
                    theme=s.theme,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    city=s.city,
                    venue=s.venue,
                    online_url=s.online_url,
                    modality=s.modality,
                    planned_hours=s.planned_hours,
                )
                for c, s in batch
            ]
        )
        for (_, session), training_session in zip(batch, training_sessions, strict=True):
            session.pk = _pk(training_session)

    members = [(c, p) for c in demo.cohorts for p in c.members]
    for batch in _batches(members, progress, "enrolments"):
        Enrolment.objects.bulk_create(
            [
                Enrolment(
                    participant_id=p.pk,
                    cohort_id=c.pk,
                    status=_enrolment_status(p),
                    enrolled_on=p.enrolled_on,
                    withdrawn_on=p.withdrawn_on,
                    withdrawal_reason=p.withdrawal_reason,
                )
                for c, p in batch
            ]
        )

    recorded_by_id = recorded_by.pk if recorded_by else None
    total, buffer = demo.mark_count, []
    progress("attendance", 0, total)
    done = 0
    for cohort in demo.cohorts:
        for person, session, status, minutes, note in plan_marks(demo.seed, cohort):
            # Every planned person and session got its `pk` in the phases above.
            buffer.append(
                Attendance(
                    participant_id=cast(int, person.pk),
                    session_id=cast(int, session.pk),
                    status=status,
                    minutes_attended=minutes,
                    note=note,
                    recorded_by_id=recorded_by_id,
                    recorded_at=session.recorded_at,
                )
            )
            if len(buffer) >= BATCH_SIZE:
                Attendance.objects.bulk_create(buffer)
                done += len(buffer)
                buffer = []
                progress("attendance", done, total)
    Attendance.objects.bulk_create(buffer)
    progress("attendance", done + len(buffer), total)


def _enrolment_status(person: PersonPlan) -> str:
    return Enrolment.Status.WITHDRAWN if person.withdrawn_on else Enrolment.Status.ACTIVE


def _batches(rows: list, progress: Progress, phase: str) -> Iterator[list]:
    """Yield the rows by batches, reporting progress after each."""
    total = len(rows)
    for start in range(0, total, BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        yield batch
        progress(phase, start + len(batch), total)


def _pk(obj) -> int:
    # SQLite ≥ 3.35 and PostgreSQL return the new ids from a bulk insert; the rows that
    # follow need them.
    if obj.pk is None:
        raise DemoError("This database does not return ids from bulk inserts (SQLite < 3.35?).")
    return obj.pk


def _check_dates(demo: DemoPlan, programme: Programme) -> None:
    """Refuse a plan that the programme's dates (editable in the admin) cannot hold."""
    days = [s.day for s in demo.sessions]
    first, last = min(days), max(days)
    if first < programme.start_date or last > programme.end_date:
        raise DemoError(
            f"The demo sessions run from {first} to {last}, outside the programme's dates "
            f"({programme.start_date} to {programme.end_date})."
        )


# Accounts ------------------------------------------------------------------------------

MANAGED_REGION = "MA-04"
TRAINEE_YEAR = 2021
FUNDERS = {"funder-arm": "ARM", "funder-rdf": "RdF", "funder-afd": "AFD"}


def ensure_accounts(*, reset_passwords: bool = False) -> dict:
    """Create the demo accounts, or put back their roles and scopes; return them by name.

    A new account gets the demo password; an existing one keeps its password unless
    `reset_passwords` is given.
    """
    User = get_user_model()
    flags = {
        "admin": {"is_staff": True, "is_superuser": True},
        "manager": {"is_staff": True, "is_superuser": False},
        "manager-rsk": {"is_staff": True, "is_superuser": False},
        "trainee": {"is_staff": False, "is_superuser": False},
    } | {name: {"is_staff": False, "is_superuser": False} for name in FUNDERS}
    users = {}
    for username, values in flags.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={**values, "email": f"{username}@{DEMO_EMAIL_DOMAIN}"}
        )
        wanted = {**values, "is_active": True}
        changed = [name for name, value in wanted.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, wanted[name])
        if created or reset_passwords:
            validate_password(DEMO_PASSWORD, user)
            user.set_password(DEMO_PASSWORD)
            changed.append("password")
        if changed:
            user.save(update_fields=changed)
        users[username] = user

    group = managers_group_sync()
    for username, regions in (("manager", None), ("manager-rsk", [MANAGED_REGION])):
        user = users[username]
        user.groups.add(group)
        profile, _ = ManagerProfile.objects.update_or_create(
            user=user, defaults={"all_regions": regions is None}
        )
        profile.regions.set(Region.objects.filter(code__in=regions or []))
    organisations = Organisation.objects.in_bulk(FUNDERS.values(), field_name="short_name")
    for username, short_name in FUNDERS.items():
        if short_name not in organisations:
            raise DemoError(f"The organisation {short_name} is missing: run `migrate` first.")
        FunderProfile.objects.update_or_create(
            user=users[username], defaults={"organisation": organisations[short_name]}
        )
    return users


def link_trainee(user) -> Participant | None:
    """Link the trainee account to a demo participant if it has none: an assiduous one."""
    current = Participant.objects.filter(user=user).first()
    if current is not None:
        return current
    attended = Q(attendances__status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE])
    participant = (
        demo_participants()
        .filter(
            region_id=MANAGED_REGION,
            user__isnull=True,
            enrolments__cohort__year=TRAINEE_YEAR,
            enrolments__status=Enrolment.Status.ACTIVE,
        )
        # Not in a cohort with a session left unrecorded: that would block their certificate.
        .exclude(
            enrolments__cohort__in=sessions_without_attendance(demo_cohorts()).values("cohort_id")
        )
        .annotate(attended=Count("attendances", filter=attended, distinct=True))
        .order_by("-attended", "email")
        .first()
    )
    if participant is None:
        return None
    participant.user = user
    participant.save(update_fields=["user", "updated_at"])
    user.first_name, user.last_name, user.email = (
        participant.first_name,
        participant.last_name,
        participant.email,
    )
    user.save(update_fields=["first_name", "last_name", "email"])
    return participant


def _account_rows(trainee: Participant | None) -> list[Account]:
    region = Region.objects.get(code=MANAGED_REGION)
    enrolment = None if trainee is None else trainee.enrolments.select_related("cohort").first()
    if trainee is not None and enrolment is not None:
        trainee_sees = f"{trainee.full_name}'s own attendance and progress in {enrolment.cohort}"
    else:
        trainee_sees = "nothing yet: no demo participant to link"
    rows = [
        ("admin", "superuser", "everything, and the admin site"),
        ("manager", "manager, all regions", "every cohort, session and participant"),
        ("manager-rsk", f"manager, {region.code} only", f"cohorts and people of {region.name_fr}"),
        ("trainee", "trainee", trainee_sees),
    ] + [
        (name, f"funder ({short})", "aggregate reports only, no personal data")
        for name, short in FUNDERS.items()
    ]
    return [Account(name, role, DEMO_PASSWORD, sees) for name, role, sees in rows]


# The whole run ---------------------------------------------------------------------------


def seed_demo(
    *,
    seed: int = DEFAULT_SEED,
    scale: str | None = None,
    reset: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Load the demo data unless it is there, and ensure the demo accounts.

    `scale` None means the loaded scale, or small when nothing is loaded; `reset` rebuilds
    the data and sets the accounts' password back. All or nothing: one transaction.
    """
    if scale is not None and scale not in SCALES:
        raise DemoError(f"Unknown scale {scale!r}: choose from {', '.join(SCALES)}.")
    progress = progress or _silent
    with transaction.atomic():
        loaded = loaded_scale()
        if loaded == "unknown" and not reset:
            raise DemoError(
                "Incomplete or unrecognised demo data is in the database; run with --reset "
                "to rebuild it. Nothing was changed."
            )
        if loaded is not None and not reset:
            if scale is not None and scale != loaded:
                raise DemoError(
                    f"The {loaded} demo data set is loaded; run with --reset to replace it "
                    f"with the {scale} one. Nothing was changed."
                )
            action, chosen = "kept", loaded
        else:
            chosen = scale or (loaded if loaded in SCALES else "small")
            action = "rebuilt" if loaded is not None else "generated"
        users = ensure_accounts(reset_passwords=reset)
        if action != "kept":
            capitals = dict(Region.objects.values_list("code", "capital"))
            missing = sorted(set(COUNCIL_SEATS) - set(capitals))
            if missing:
                raise DemoError(f"Regions missing: {', '.join(missing)}: run `migrate` first.")
            # Bulk writes: the progress summaries are rebuilt once, at the end.
            with bulk_writes(progress):
                if loaded is not None:
                    delete_demo(progress)
                demo = plan(seed=seed, scale=SCALES[chosen], capitals=capitals)
                write_plan(demo, recorded_by=users["manager"], progress=progress)
        trainee = link_trainee(users["trainee"])
        outcome = Outcome(action, chosen, demo_counts(), _account_rows(trainee))
        # PostgreSQL checks the (deferred) foreign keys of every new row at commit.
        if action != "kept":
            progress("committing", 0, 1)
    if action != "kept":
        progress("committing", 1, 1)
    return outcome
