"""REST routes of the wallet app, mounted under /api/v1/ by wemaster/urls.py.

Refund requests (/wallet/refund-requests) are routed by wemaster/lessons.
"""

from django.urls import path

from wallet.api import views

urlpatterns = [
    path("wallet", views.WalletView.as_view(), name="wallet"),
    path("wallet/auto-reload", views.AutoReloadView.as_view(), name="wallet-auto-reload"),
    path("wallet/payment-methods", views.PaymentMethodListView.as_view(), name="wallet-payment-methods"),
    path(
        "wallet/payment-methods/<int:payment_method_id>",
        views.PaymentMethodDetailView.as_view(),
        name="wallet-payment-method",
    ),
    path("wallet/top-ups", views.TopUpListView.as_view(), name="wallet-top-ups"),
    path("wallet/top-ups/<int:top_up_id>", views.TopUpDetailView.as_view(), name="wallet-top-up"),
    path("wallet/transactions", views.TransactionListView.as_view(), name="wallet-transactions"),
    path("wallet/transactions/<int:transaction_id>", views.TransactionDetailView.as_view(), name="wallet-transaction"),
]
