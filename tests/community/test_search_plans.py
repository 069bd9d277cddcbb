"""Full-text search never walks every post, whatever the query (issue: a query that matched
nothing scanned 300k posts along the created_at index, 170-744 ms each).

One large seed (200k posts written by generate_series, words drawn so that `w1` is in nearly
every post and `wN` in about 1/N² of them, then ANALYZE), then every query shape with every
filter and ordering goes through the API; each statement it sent is EXPLAINed (FORMAT JSON) with
the planner settings it ran under, and the plans are checked: no sequential scan of the posts, no
index walk over them without a bound, and the GIN index for every shape the bounded window of
newest posts could not answer.
"""

import itertools
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from community.models import Post
from tests.accounts.factories import StudentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

POSTS = "/api/v1/community/posts"
SEED_POSTS = 200_000
WORDS_PER_BODY = 12

SHAPES = {
    "matches nothing": "zzzunknownword",
    "matches one": "needleword",
    "matches many": "w1",
    # Estimated at thousands of posts, matches a handful: the planner's favourite trap.
    "rare phrase": '"w2 w4 w6 w8"',
    "two words that rarely meet": "w9 w11",
    "exclusions only": "-w1",
    "stop words only": "the",
}
FILTERS = {"none": {}, "tag": {"tag": "seedtag"}, "author": "author", "kind": {"kind": "question"}}
ORDERINGS = ("new", "top", "trending")
# Shapes whose matches the window of newest posts cannot supply: they must come from the index.
FROM_THE_INDEX = {"matches nothing", "matches one", "rare phrase", "two words that rarely meet"}


def _seed(authors) -> None:
    words = " || ' ' || ".join(["'w' || floor(1 / random())::int"] * WORDS_PER_BODY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.19)")
        # Inserts go to the GIN pending list; a large one is cleaned once at the end.
        cursor.execute("SET LOCAL gin_pending_list_limit = '64MB'")
        cursor.execute(
            f"""
            INSERT INTO community_post (kind, title, body, reaction_count, comment_count, trending_score,
                                        is_hidden, deleted_at, created_at, updated_at, author_id)
            SELECT CASE WHEN g %% 5 = 0 THEN 'question' ELSE 'discussion' END,
                   'topic w' || floor(1 / random())::int,
                   {words} || CASE WHEN g = %s THEN ' needleword' ELSE '' END,
                   g %% 50, g %% 20, random(), g %% 97 = 0, NULL,
                   now() - make_interval(secs => g), now(),
                   CASE WHEN g %% 2 = 0 THEN %s ELSE %s END
            FROM generate_series(1, %s) g
            """,
            [SEED_POSTS // 2 + 1, authors[0].id, authors[1].id, SEED_POSTS],
        )
        cursor.execute("INSERT INTO community_tag (name, post_count, created_at) VALUES ('seedtag', 0, now())")
        cursor.execute(
            "INSERT INTO community_posttag (post_id, tag_id) SELECT id, currval("
            "pg_get_serial_sequence('community_tag', 'id')) FROM community_post WHERE id % 10 = 0"
        )
        cursor.execute("SELECT gin_clean_pending_list('community_post_search'::regclass)")
        cursor.execute("ANALYZE community_post")
        cursor.execute("ANALYZE community_posttag")
        cursor.execute("ANALYZE community_tag")


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plans(captured: list[str]) -> list[dict]:
    """The plan of every statement of `captured` that reads the posts, under the planner
    settings sent before it (SET LOCAL lasts the transaction: each replay is rolled back)."""
    plans, settings = [], []
    for sql in captured:
        if sql.startswith("SET "):
            settings.append(sql)
            continue
        if "community_post" not in sql:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            for setting in settings:
                cursor.execute(setting)
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            transaction.set_rollback(True)
        settings = []
        plans.append(json.loads(plan)[0]["Plan"] if isinstance(plan, str) else plan[0]["Plan"])
    return plans


def _unbounded_walks(plan: dict, window: int) -> list[str]:
    """Scans of the posts that may read every row: sequential scans, and index walks over a
    posts index (not the primary key) that no Limit of at most `window` rows bounds."""
    problems = []

    def visit(node, bounded):
        if node["Node Type"] == "Limit" and node["Plan Rows"] <= window:
            bounded = True
        relation = node.get("Relation Name")
        if relation == "community_post":
            if "Seq Scan" in node["Node Type"]:
                problems.append(node["Node Type"])
            if node["Node Type"] in ("Index Scan", "Index Only Scan") and not bounded:
                if node["Index Name"] != "community_post_pkey":
                    problems.append(f"{node['Node Type']} on {node['Index Name']} without a bound")
        for child in node.get("Plans", []):
            visit(child, bounded)

    visit(plan, False)
    return problems


def _uses_search_index(plans: list[dict]) -> bool:
    return any(
        node["Node Type"] == "Bitmap Index Scan" and node["Index Name"] == "community_post_search"
        for plan in plans
        for node in _nodes(plan)
    )


def _naive_ids(q: str, ordering: str) -> list[int]:
    """The first page as the old query computed it (correct, just unbounded in cost)."""
    key = {"new": "created_at", "top": "reaction_count", "trending": "trending_score"}[ordering]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM community_post WHERE deleted_at IS NULL AND NOT is_hidden"
            f" AND search_vector @@ websearch_to_tsquery('english'::regconfig, %s)"
            f" ORDER BY {key} DESC, id DESC LIMIT 20",
            [q],
        )
        return [row[0] for row in cursor.fetchall()]


def test_every_search_shape_reads_a_bounded_number_of_posts_and_pages_stay_exact(api_client, settings):
    """One test for both checks: the seed is what costs (tens of seconds on a busy machine)."""
    settings.RATE_LIMITS_ENABLED = False
    window = settings.COMMUNITY_SEARCH_WINDOW
    authors = [StudentFactory(), StudentFactory()]
    _seed(authors)
    assert Post.objects.count() == SEED_POSTS
    failures = []
    for (shape, q), (filter_name, params), ordering in itertools.product(SHAPES.items(), FILTERS.items(), ORDERINGS):
        if params == "author":
            params = {"author": authors[0].id}
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get(POSTS, {"q": q, "ordering": ordering, "page_size": 20, **params})
        assert response.status_code == 200, response.content
        plans = _plans([query["sql"] for query in queries.captured_queries])
        label = f"{shape} / filter {filter_name} / {ordering}"
        for plan in plans:
            failures.extend(f"{label}: {problem}" for problem in _unbounded_walks(plan, window))
        if shape in FROM_THE_INDEX and not _uses_search_index(plans):
            failures.append(f"{label}: the GIN index was not used")
    assert failures == []

    # The bounded strategy returns the page the plain ORDER BY ... LIMIT returned.
    for q, ordering in itertools.product(('"w2 w4 w6 w8"', "needleword", "w1", "w9 w11"), ORDERINGS):
        rows = api_client.get(POSTS, {"q": q, "ordering": ordering, "page_size": 20}).json()["results"]
        expected = _naive_ids(q, ordering)
        assert [row["id"] for row in rows] == expected, (q, ordering)
        assert q == "needleword" or len(expected) > 1  # each shape matches what it is named for
