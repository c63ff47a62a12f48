"""Server-rendered pages. Each audience's module lists its own URLs."""

from web.views import accounts, funder, manager, public, trainee

app_name = "web"

urlpatterns = [
    *public.urlpatterns,
    *trainee.urlpatterns,
    *manager.urlpatterns,
    *funder.urlpatterns,
    *accounts.urlpatterns,
]
