"""The trainee's own pages ("Mon parcours"). Placeholder: being built."""

from django.shortcuts import render
from django.urls import path

from web.access import role_required


@role_required("trainee")
def trainee_home(request):
    return render(request, "web/placeholder.html")


urlpatterns = [
    path("me/", trainee_home, name="trainee-home"),
]
