"""REST routes of the earnings app, mounted under /api/v1/ by wemaster/urls.py."""

urlpatterns: list = []
