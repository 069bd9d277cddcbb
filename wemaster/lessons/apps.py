from django.apps import AppConfig


class LessonsConfig(AppConfig):
    name = "wemaster.lessons"
    label = "lessons"
