"""Sign-in routes and the home redirect."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from civicgrid.accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("logout/confirm/", views.logout_confirm, name="logout-confirm"),
    path("home/", views.home, name="home"),
]
