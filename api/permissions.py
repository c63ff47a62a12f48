"""Who may call what. Deny by default: a caller without one of these roles gets nothing."""

from rest_framework.permissions import BasePermission

from cohorts.roles import user_role


class _HasRole(BasePermission):
    roles: frozenset[str] = frozenset()

    def has_permission(self, request, view):
        return user_role(request.user) in self.roles


class IsManager(_HasRole):
    roles = frozenset({"manager"})


class IsTrainee(_HasRole):
    roles = frozenset({"trainee"})


class IsManagerOrFunder(_HasRole):
    roles = frozenset({"manager", "funder"})


class HasAnyRole(_HasRole):
    roles = frozenset({"manager", "funder", "trainee"})
