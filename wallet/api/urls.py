"""REST routes of the wallet app, mounted under /api/v1/ by wemaster/urls.py."""

urlpatterns: list = []
