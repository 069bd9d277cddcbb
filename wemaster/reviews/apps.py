from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "wemaster.reviews"
    label = "reviews"
