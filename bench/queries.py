"""Queries per request of every list endpoint at page sizes 10 and 100, against the bench database.

`python -m bench.queries <manifest.json>` (DATABASE_URL = the seeded database) prints one JSON
line {"counts": {path: [at 10, at 100]}, "skipped": [...]}. In-process (Django test client, caches off so
every query is counted), each request once to warm connections, then counted.
"""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wemaster.settings")
os.environ["CACHES_ENABLED"] = "off"
os.environ["RATE_LIMITS"] = "off"

import django  # noqa: E402 - settings from the environment first

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from community.models import Post  # noqa: E402


def main(manifest_path: str) -> None:
    manifest = json.loads(open(manifest_path).read())  # noqa: SIM115 - read once
    setup_test_environment()
    student = manifest["students"][0]["token"]
    tutor = manifest["star_tutor"]["token"]
    heavy = manifest["heavy_user"]["token"]
    busy_post = Post.objects.order_by("-comment_count").values_list("id", flat=True).first()
    big = manifest["big_conversation"]["id"]
    endpoints = [
        ("/api/v1/tutors", student, "page_size"),
        ("/api/v1/lessons", tutor, "page_size"),
        ("/api/v1/earnings/transactions", tutor, "page_size"),
        ("/api/v1/earnings/withdrawals", tutor, "page_size"),
        ("/api/v1/earnings/payout-methods", tutor, "page_size"),
        ("/api/v1/wallet/transactions", student, "page_size"),
        ("/api/v1/wallet/payment-methods", student, "page_size"),
        ("/api/v1/wallet/refund-requests", student, "page_size"),
        ("/api/v1/conversations", heavy, "page_size"),
        (f"/api/v1/conversations/{big}/messages", heavy, "page_size"),
        ("/api/v1/community/posts", student, "page_size"),
        (f"/api/v1/community/posts/{busy_post}/comments", student, "page_size"),
        ("/api/v1/community/feed", student, "page_size"),
        ("/api/v1/community/tags", student, "page_size"),
        ("/api/v1/notifications", tutor, "page_size"),
        (f"/api/v1/tutors/{manifest['star_tutor']['id']}/reviews", student, "page_size"),
    ]
    client = APIClient()
    counts, skipped = {}, []
    for path, token, parameter in endpoints:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        measured = []
        for size in (10, 100):
            url = f"{path}?{parameter}={size}"
            client.get(url)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            if response.status_code != 200:
                measured = None
                break
            measured.append(len(queries))
        if measured and len(measured) == 2:
            counts[path] = measured
        else:
            skipped.append(path)
    print(json.dumps({"counts": counts, "skipped": skipped}))


if __name__ == "__main__":
    main(sys.argv[1])
