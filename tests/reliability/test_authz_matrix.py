"""Authorization matrix generated from the URL resolver (issue #9, part 2)."""

import pytest
from django.apps import apps

from reliability.routes import api_routes
from tests.accounts.factories import StaffFactory, StudentFactory, TutorFactory
from tests.reliability.authz_matrix import MATRIX

ROUTES = {route.name: route for route in api_routes()}
SNAPSHOT_APPS = (
    "accounts",
    "core",
    "ledger",
    "lessons",
    "reviews",
    "scheduling",
    "community",
    "messaging",
    "earnings",
    "wallet",
    "notifications",
)


def make_user(role: str):
    if role == "tutor":
        return TutorFactory()
    if role == "staff":
        return StaffFactory()
    return StudentFactory()


def database_state() -> dict:
    """Every row of the project's own tables (small in a test): what "nothing changed" compares."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label in SNAPSHOT_APPS:
            rows = model.objects.order_by("pk").values()
            state[model._meta.label] = [{k: v for k, v in row.items() if k != "last_login"} for row in rows]
    return state


def cases(kind: str):
    for name, entry in sorted(MATRIX.items()):
        route = ROUTES.get(name)
        if route is None:
            continue
        if kind == "private":
            yield from (pytest.param(name, method, id=f"{name}-{method}") for method in entry.private)
        elif kind == "methods":
            yield from (pytest.param(name, method, id=f"{name}-{method}") for method in route.methods)


def test_every_route_has_an_entry():
    missing = sorted(set(ROUTES) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(ROUTES))
    assert not missing, f"routes without an authorization matrix entry: {missing}"
    assert not stale, f"matrix entries for routes that do not exist: {stale}"


@pytest.mark.parametrize("name", sorted(name for name in ROUTES if ROUTES[name].params))
def test_every_method_on_an_object_is_classified(name):
    entry, route = MATRIX[name], ROUTES[name]
    assert entry.setup is not None, f"{name} has an object id but no setup"
    unclassified = set(route.methods) - set(entry.private) - set(entry.shared)
    assert not unclassified, f"{name}: methods neither private nor shared: {unclassified}"


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", list(cases("private")))
def test_another_users_object_is_404_and_unchanged(name, method, client_for):
    entry, route = MATRIX[name], ROUTES[name]
    owner, intruder = make_user(entry.owner_role), make_user(entry.owner_role)
    kwargs = entry.setup(owner)
    intruders_client = client_for(intruder)  # its token row exists before the snapshot
    before = database_state()
    body = entry.private[method]
    response = getattr(intruders_client, method)(route.path(**kwargs), body, format="json")
    assert response.status_code == 404, (response.status_code, response.content)
    assert response.json()["code"] == "not_found"
    assert database_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", list(cases("methods")))
def test_anonymous_callers_get_401_on_private_methods(name, method, api_client):
    entry, route = MATRIX[name], ROUTES[name]
    path = route.path(**{param: 999_999 for param in route.params})
    response = getattr(api_client, method)(path, {}, format="json")
    if method in entry.public:
        assert response.status_code != 401
    else:
        assert response.status_code == 401, (response.status_code, response.content)
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", list(cases("methods")))
def test_roles_outside_the_entry_get_403(name, method, client_for):
    entry, route = MATRIX[name], ROUTES[name]
    path = route.path(**{param: 999_999 for param in route.params})
    for role in sorted({"student", "tutor", "staff"} - entry.roles):
        response = getattr(client_for(make_user(role)), method)(path, {}, format="json")
        assert response.status_code == 403, (role, response.status_code, response.content)
        assert isinstance(response.json()["code"], str)  # permission_denied, not_a_student, ...


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(name for name, entry in MATRIX.items() if entry.own_rows and name in ROUTES))
def test_lists_return_only_the_callers_rows(name, client_for):
    entry, route = MATRIX[name], ROUTES[name]
    owner, other = make_user(entry.owner_role), make_user(entry.owner_role)
    owners_ids = entry.own_rows(owner)
    assert owners_ids, "the setup must create rows to look for"
    rows = client_for(other).get(route.path() + "?page_size=100").json()["results"]
    assert not owners_ids & {row["id"] for row in rows}
    rows = client_for(owner).get(route.path() + "?page_size=100").json()["results"]
    assert owners_ids <= {row["id"] for row in rows}
