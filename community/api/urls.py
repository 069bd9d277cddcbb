"""REST routes of the community app, mounted under /api/v1/ by wemaster/urls.py."""

urlpatterns: list = []
