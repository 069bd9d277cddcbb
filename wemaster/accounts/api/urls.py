from django.urls import path

from wemaster.accounts.api import auth, views

urlpatterns = [
    path("auth/register", auth.RegisterView.as_view(), name="auth-register"),
    path("auth/token", auth.TokenView.as_view(), name="auth-token"),
    path("auth/logout", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/tokens", auth.TokenListView.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:pk>", auth.TokenDetailView.as_view(), name="auth-token-detail"),
    path("auth/password", auth.PasswordChangeView.as_view(), name="auth-password"),
    path("auth/password-reset", auth.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password-reset/confirm", auth.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("me", views.MeView.as_view(), name="me"),
    path("tutors", views.TutorListView.as_view(), name="tutor-list"),
]
