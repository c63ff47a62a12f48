from django.urls import path

from certificates import views

app_name = "certificates"

urlpatterns = [
    path("verify/", views.verify, name="verify-form"),
    path("verify/<str:code>", views.verify, name="verify"),
]
