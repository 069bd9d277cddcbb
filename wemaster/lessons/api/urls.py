"""REST routes of the lesson booking flow and of refund requests (the student's under wallet/, the
tutor's read-only view under earnings/), mounted under /api/v1/."""

from django.urls import path

from wemaster.lessons.api import views

urlpatterns = [
    path("lessons", views.LessonListCreateView.as_view(), name="lesson-list"),
    path("lessons/<int:pk>", views.LessonDetailView.as_view(), name="lesson-detail"),
    path("lessons/<int:pk>/complete", views.LessonCompleteView.as_view(), name="lesson-complete"),
    path("lessons/<int:pk>/cancel", views.LessonCancelView.as_view(), name="lesson-cancel"),
    path("lessons/<int:pk>/report-problem", views.LessonReportProblemView.as_view(), name="lesson-report-problem"),
    path("lessons/<int:pk>/resolve", views.LessonResolveView.as_view(), name="lesson-resolve"),
    path("wallet/refund-requests", views.RefundRequestListCreateView.as_view(), name="refund-request-list"),
    path("wallet/refund-requests/<int:pk>", views.RefundRequestDetailView.as_view(), name="refund-request-detail"),
    path(
        "wallet/refund-requests/<int:pk>/approve",
        views.RefundRequestApproveView.as_view(),
        name="refund-request-approve",
    ),
    path(
        "wallet/refund-requests/<int:pk>/reject", views.RefundRequestRejectView.as_view(), name="refund-request-reject"
    ),
    path("earnings/refund-requests", views.TutorRefundRequestListView.as_view(), name="earnings-refund-requests"),
    path(
        "earnings/refund-requests/<int:pk>",
        views.TutorRefundRequestDetailView.as_view(),
        name="earnings-refund-request",
    ),
]
