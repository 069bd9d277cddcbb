from wemaster.scheduling.services import ExceptionSpec, WindowSpec, availability_replace

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
        windows=[WindowSpec(day, hhmm(start), hhmm(end)) for day, start, end in windows],
        exceptions=[ExceptionSpec(day, kind, *(hhmm(clock) for clock in clocks)) for day, kind, *clocks in exceptions],
    )
