"""Who may see what: programme managers' region scope, and the managers' permission group."""

from typing import cast

from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.db.models import Exists, OuterRef, QuerySet

MANAGERS_GROUP = "Gestionnaires de programme"

# What a programme manager may do in the admin, by model.
_MANAGER_PERMISSIONS = {
    "participant": ["view", "add", "change"],
    "cohort": ["view", "add", "change"],
    "trainingsession": ["view", "add", "change"],
    "enrolment": ["view", "add", "change"],
    "attendance": ["view", "add", "change"],
    "attendancehistory": ["view"],
    "enrolmenthistory": ["view"],
    # The outbox: see the messages to their people, and send a failed one again.
    "notification": ["view", "change"],
    "region": ["view"],
    "organisation": ["view"],
    "programme": ["view"],
    # Funder accounts: whether each gets the monthly report (the funder changes it).
    "funderprofile": ["view"],
}


def managers_group_sync(**kwargs) -> Group:
    """Create or update the managers' group with its permissions (idempotent)."""
    group, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
    codenames = [
        f"{action}_{model}" for model, actions in _MANAGER_PERMISSIONS.items() for action in actions
    ]
    permissions = Permission.objects.filter(
        content_type__app_label="cohorts", codename__in=codenames
    )
    group.permissions.add(*permissions)
    return group


def region_scope(user) -> frozenset[str] | None:
    """Region codes the user manages: None means every region, empty means none.

    Deny by default: anyone who is not a superuser or a manager gets an empty scope.
    The answer is kept on the user object, so a request asks the database once.
    """
    if user is None or isinstance(user, AnonymousUser) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_region_scope_cache", False)
    if cached is not False:
        # Only ever set below, to a `frozenset[str] | None`.
        return cast("frozenset[str] | None", cached)
    scope: frozenset[str] | None
    if user.is_superuser:
        scope = None
    else:
        from cohorts.models import ManagerProfile

        profile = ManagerProfile.objects.filter(user=user).prefetch_related("regions").first()
        if profile is None:
            scope = frozenset()
        elif profile.all_regions:
            scope = None
        else:
            scope = frozenset(region.code for region in profile.regions.all())
    user._region_scope_cache = scope
    return scope


def _cohort_region_in(codes, cohort_ref: str):
    from cohorts.models import Cohort

    return Exists(
        Cohort.regions.through.objects.filter(cohort_id=OuterRef(cohort_ref), region_id__in=codes)
    )


def scope_regions(qs: QuerySet, user) -> QuerySet:
    codes = region_scope(user)
    return qs if codes is None else qs.filter(code__in=codes)


def scope_participants(qs: QuerySet, user) -> QuerySet:
    codes = region_scope(user)
    return qs if codes is None else qs.filter(region_id__in=codes)


def scope_cohorts(qs: QuerySet, user) -> QuerySet:
    codes = region_scope(user)
    return qs if codes is None else qs.filter(_cohort_region_in(codes, "pk"))


def scope_sessions(qs: QuerySet, user) -> QuerySet:
    codes = region_scope(user)
    return qs if codes is None else qs.filter(_cohort_region_in(codes, "cohort_id"))


def scope_enrolments(qs: QuerySet, user) -> QuerySet:
    """Enrolments and attendance follow the participant's region."""
    codes = region_scope(user)
    return qs if codes is None else qs.filter(participant__region_id__in=codes)


scope_attendance = scope_enrolments


def may_manage_region(user, region_code: str) -> bool:
    codes = region_scope(user)
    return codes is None or region_code in codes


def user_role(user) -> str | None:
    """The caller's role: "manager", "funder" or "trainee", else None (deny).

    A superuser counts as a manager of every region. Kept on the user object per request.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_role_cache", False)
    if cached is not False:
        # Only ever set below, to a `str | None`.
        return cast("str | None", cached)
    from cohorts.models import FunderProfile, ManagerProfile, Participant

    if user.is_superuser or ManagerProfile.objects.filter(user=user).exists():
        role = "manager"
    elif FunderProfile.objects.filter(user=user).exists():
        role = "funder"
    elif Participant.objects.filter(user=user).exists():
        role = "trainee"
    else:
        role = None
    user._role_cache = role
    return role
