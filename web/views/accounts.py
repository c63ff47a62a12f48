"""Accounts by invitation, password set and reset. Placeholder: being built."""

urlpatterns = []
