"""Programme managers' pages. Placeholder: being built."""

from django.shortcuts import render
from django.urls import path

from web.access import role_required


@role_required("manager")
def manager_home(request):
    return render(request, "web/placeholder.html")


urlpatterns = [
    path("manage/", manager_home, name="manager-home"),
]
