import pytest

from tests.community.factories import PostFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/community/posts"


def _ids(api_client, **params):
    return {row["id"] for row in api_client.get(POSTS, params).json()["results"]}


@pytest.mark.postgres
def test_full_text_search_by_title_and_body_words_with_stemming(api_client):
    title = PostFactory(title="Integrals explained", body="Nothing else here.")
    body = PostFactory(title="Weekend question", body="I keep failing at derivatives of products.")
    chemistry = PostFactory(title="Chemistry", body="Balancing equations.")
    assert _ids(api_client, q="explaining") == {title.id}  # stemmed: explain
    assert _ids(api_client, q="derivative") == {body.id}
    assert _ids(api_client, q="products failing") == {body.id}  # every word, any order
    assert _ids(api_client, q="integral or chemistry") == {title.id, chemistry.id}  # websearch syntax
    assert _ids(api_client, q="the") == set()  # stop words alone match nothing


def test_search_finds_title_and_body_words(api_client):
    title = PostFactory(title="Integrals explained", body="Nothing else here.")
    body = PostFactory(title="Weekend", body="Integrals by parts.")
    PostFactory(title="Chemistry", body="Balancing equations.")
    assert _ids(api_client, q="integrals") == {title.id, body.id}
    assert _ids(api_client, q="balancing") == _ids(api_client, q="Balancing")


def test_search_combines_with_filters(api_client):
    hit = PostFactory(title="Integrals", tags=["maths"])
    PostFactory(title="Integrals", tags=["other"])
    assert _ids(api_client, q="integrals", tag="maths") == {hit.id}
