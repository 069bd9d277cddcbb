import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from earnings.models import EarningKind, EarningStatus
from earnings.selectors import analytics_compute
from tests.accounts.factories import StudentFactory, TutorFactory
from tests.earnings.factories import EarningFactory, SubjectFactory
from wemaster.core.money import format_minor


def bucket_of(moment: datetime, period: str) -> date:
    day = moment.astimezone(UTC).date()
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def brute_force(earnings, *, period, start, end, group_by):
    rows = defaultdict(lambda: {"gross": 0, "commission": 0, "net": 0, "lessons": 0, "minutes": 0})
    for earning in earnings:
        if earning.status == EarningStatus.REFUNDED or not start <= earning.earned_at.astimezone(UTC).date() <= end:
            continue
        group = None
        if group_by == "subject":
            group = earning.subject.name
        elif group_by == "student":
            group = earning.student_id
        row = rows[(bucket_of(earning.earned_at, period), group)]
        row["gross"] += earning.gross
        row["commission"] += earning.commission
        row["net"] += earning.net
        row["lessons"] += earning.kind == EarningKind.LESSON
        row["minutes"] += earning.minutes
    return {
        (bucket.isoformat(), group): {
            "gross": format_minor(row["gross"]),
            "commission": format_minor(row["commission"]),
            "net": format_minor(row["net"]),
            "lessons": row["lessons"],
            "hours": round(row["minutes"] / 60, 2),
        }
        for (bucket, group), row in rows.items()
    }


def as_keyed(result, group_by):
    keyed = {}
    for row in result["series"]:
        group = row.get("subject") if group_by == "subject" else row["student"]["id"] if group_by == "student" else None
        values = {field: row[field] for field in ("gross", "commission", "net", "lessons", "hours")}
        keyed[(row["bucket"], group)] = values
    return keyed


@pytest.fixture
def dataset(db):
    """Several hundred earnings of one tutor over ~5 months, several subjects and students,
    at random UTC times (month boundaries included), some refunded, some cancellation fees."""
    rng = random.Random(42)
    tutor = TutorFactory()
    subjects = [SubjectFactory(name=name) for name in ("algebra", "physics", "chemistry", "latin")]
    students = [StudentFactory() for _ in range(6)]
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    earnings = []
    for index in range(400):
        if index % 50 == 0:  # pile some exactly on month boundaries and one second before them
            month = 1 + index // 100
            moment = datetime(2026, month + 1, 1, tzinfo=UTC) - timedelta(seconds=index % 2)
        else:
            moment = origin + timedelta(seconds=rng.randint(0, 150 * 24 * 3600))
        fee = rng.random() < 0.1
        earnings.append(
            EarningFactory.build(
                tutor=tutor,
                student=rng.choice(students),
                subject=rng.choice(subjects),
                kind=EarningKind.CANCELLATION_FEE if fee else EarningKind.LESSON,
                minutes=0 if fee else rng.choice([30, 45, 60, 90]),
                gross=rng.randint(100, 20_000),
                commission_percent=0 if fee else rng.choice([25, 20, 15]),
                status=EarningStatus.REFUNDED if rng.random() < 0.05 else EarningStatus.PENDING,
                earned_at=moment,
            )
        )
    for earning in earnings:
        earning.commission = earning.gross * earning.commission_percent // 100
        earning.net = earning.gross - earning.commission
        earning.available_on = earning.earned_at
    EarningFactory._meta.model.objects.bulk_create(earnings)
    EarningFactory(earned_at=origin + timedelta(days=10))  # another tutor's: never counted
    return tutor, earnings


@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize("group_by", [None, "subject", "student"])
def test_analytics_equal_brute_force_in_one_query(dataset, period, group_by):
    tutor, earnings = dataset
    start, end = date(2026, 1, 15), date(2026, 5, 1)
    with CaptureQueriesContext(connection) as queries:
        result = analytics_compute(tutor_id=tutor.id, period=period, start=start, end=end, group_by=group_by)
    assert len(queries.captured_queries) == 1
    expected = brute_force(earnings, period=period, start=start, end=end, group_by=group_by)
    assert as_keyed(result, group_by) == expected
    assert result["totals"]["lessons"] == sum(row["lessons"] for row in expected.values())


@pytest.mark.django_db
def test_analytics_api_validates_and_is_served_from_cache(client_for, django_assert_num_queries):
    tutor = TutorFactory()
    EarningFactory(tutor=tutor, earned_at=datetime(2026, 3, 31, 23, 59, tzinfo=UTC))
    client = client_for(tutor)
    url = "/api/v1/earnings/analytics?period=month&from=2026-03-01&to=2026-04-30&group_by=subject"
    body = client.get(url).json()
    assert [row["bucket"] for row in body["series"]] == ["2026-03-01"]
    with django_assert_num_queries(0):
        assert client.get(url).json() == body
    bad = client.get("/api/v1/earnings/analytics?period=year")
    assert bad.status_code == 400 and "period" in bad.json()["fields"]
    assert client.get("/api/v1/earnings/analytics?from=2026-05-01&to=2026-04-01").status_code == 400
    assert client.get("/api/v1/earnings/analytics?from=yesterday").status_code == 400
