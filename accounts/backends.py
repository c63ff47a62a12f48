"""Sign in with a user name or an e-mail address (invited trainees know their address)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None or not username or "@" not in username:
            return user
        users = list(get_user_model().objects.filter(email__iexact=username.strip())[:2])
        # An address shared by two accounts names neither: fall back to user names.
        if len(users) != 1:
            get_user_model()().set_password(password)  # same cost as a real check (timing)
            return None
        candidate = users[0]
        if candidate.check_password(password) and self.user_can_authenticate(candidate):
            return candidate
        return None
