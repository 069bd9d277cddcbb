"""Flag decisions per request on /metrics (multiprocess like every counter: wemaster/core/metrics.py)."""

from prometheus_client import Counter

from wemaster.flags.registry import FLAGS

flag_requests = Counter(
    "wemaster_flag_requests_total",
    "HTTP requests that evaluated a feature flag, by flag and the state it had for the caller (on, off)",
    ["flag", "state"],
)
for _name in FLAGS:  # every series exists from the start, so rate() sees the first request
    for _state in ("on", "off"):
        flag_requests.labels(_name, _state)
