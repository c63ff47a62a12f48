"""Server-rendered pages. Each audience's module lists its own URLs."""

from web.views import accounts, funder, funder_settings, manager, personal_data, public, trainee

app_name = "web"

urlpatterns = [
    *public.urlpatterns,
    *trainee.urlpatterns,
    *personal_data.urlpatterns,
    *manager.urlpatterns,
    *funder.urlpatterns,
    *funder_settings.urlpatterns,
    *accounts.urlpatterns,
]
