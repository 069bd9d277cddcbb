from django.urls import path

from wemaster.accounts.api import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("me", views.MeView.as_view(), name="me"),
    path("tutors", views.TutorListView.as_view(), name="tutor-list"),
    path("tutors/<int:pk>", views.TutorDetailView.as_view(), name="tutor-detail"),
    path("subjects", views.SubjectListView.as_view(), name="subject-list"),
]
