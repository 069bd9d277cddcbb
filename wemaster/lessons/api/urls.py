"""REST routes of the lesson booking flow, mounted under /api/v1/ by wemaster/urls.py."""

urlpatterns: list = []
