from django.urls import path

from wemaster.scheduling.api import views

urlpatterns = [
    path("me/availability", views.MyAvailabilityView.as_view(), name="me-availability"),
    path("tutors/<int:pk>/slots", views.TutorSlotsView.as_view(), name="tutor-slots"),
]
