"""HTML reports of every app, behind login."""

from django.urls import path

urlpatterns: list = []
