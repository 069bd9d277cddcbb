"""REST routes of the messaging app, mounted under /api/v1/ by wemaster/urls.py."""

urlpatterns: list = []
