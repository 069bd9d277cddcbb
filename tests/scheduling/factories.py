from wemaster.scheduling.services import availability_replace
from wemaster.scheduling.slots import DatedException, Window

BERLIN = "Europe/Berlin"


def hhmm(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def set_availability(tutor, *, windows=(), exceptions=(), timezone: str = BERLIN) -> None:
    """`windows`: (weekday, "HH:MM", "HH:MM"); `exceptions`: (date, kind[, "HH:MM", "HH:MM"])."""
    profile = tutor.tutor_profile
    profile.timezone = timezone
    profile.save(update_fields=["timezone"])
    availability_replace(
        tutor=tutor,
        windows=[Window(day, hhmm(start), hhmm(end)) for day, start, end in windows],
        exceptions=[DatedException(day, kind, *(hhmm(clock) for clock in clocks)) for day, kind, *clocks in exceptions],
    )
