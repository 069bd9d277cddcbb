"""REST routes of the earnings app, mounted under /api/v1/ by wemaster/urls.py."""

from django.urls import path

from earnings.api import views

urlpatterns = [
    path("earnings/overview", views.OverviewView.as_view(), name="earnings-overview"),
    path("earnings/analytics", views.AnalyticsView.as_view(), name="earnings-analytics"),
    path("earnings/transactions", views.EarningListView.as_view(), name="earnings-transactions"),
    path("earnings/transactions/<int:pk>", views.EarningDetailView.as_view(), name="earnings-transaction-detail"),
    path("earnings/payout-methods", views.PayoutMethodListCreateView.as_view(), name="earnings-payout-methods"),
    path("earnings/payout-methods/<int:pk>", views.PayoutMethodDetailView.as_view(), name="earnings-payout-method"),
    path("earnings/withdrawals", views.WithdrawalListCreateView.as_view(), name="earnings-withdrawals"),
    path("earnings/withdrawals/<int:pk>", views.WithdrawalDetailView.as_view(), name="earnings-withdrawal-detail"),
]
