from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "wemaster.scheduling"
    label = "scheduling"
