"""REST routes of reviews, mounted under /api/v1/."""

from django.urls import path

from wemaster.reviews.api import views

urlpatterns = [
    path("lessons/<int:pk>/review", views.LessonReviewView.as_view(), name="lesson-review"),
    path("reviews/<int:pk>", views.ReviewDetailView.as_view(), name="review-detail"),
    path("reviews/<int:pk>/reply", views.ReviewReplyView.as_view(), name="review-reply"),
    path("tutors/<int:pk>/reviews", views.TutorReviewListView.as_view(), name="tutor-reviews"),
]
