import pytest


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): ...` runs the on-commit effects (cache invalidation) of the writes
    inside, as a real commit would; the test transaction itself never commits."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
