"""The funders' dashboard. Placeholder: being built."""

from django.shortcuts import render
from django.urls import path

from web.access import role_required


@role_required("funder", "manager")
def funder_dashboard(request):
    return render(request, "web/placeholder.html")


urlpatterns = [
    path("dashboard/", funder_dashboard, name="funder-dashboard"),
]
