"""docs/API.md is kept true by the code: its endpoint tables list exactly the operations of the
OpenAPI schema, and its error-code table exactly the codes the code base can answer.

The table format (docs/API.md, "Reading the endpoint tables"): a Markdown table row whose first
cell is `METHOD /path` (one method per row, path parameters in braces) is one operation. Paths
under /api/v1/ are compared with the schema drf-spectacular generates in-process, parameter
names ignored (`{id}`, `{pk}` and `{post_id}` are the same); other documented paths (probes,
schema, Swagger UI) must resolve in the URL configuration.
"""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator

ROOT = Path(settings.BASE_DIR)
API_DOC = ROOT / "docs/API.md"
API_PREFIX = "/api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")
OPERATION_ROW = re.compile(r"^\|\s*`(?P<method>GET|POST|PUT|PATCH|DELETE) (?P<path>/[^`\s]*)`\s*\|")
# A row that starts like an operation ("`GET/POST /x`", "`get /x`", "`GET x`") but is not one.
LOOKS_LIKE_OPERATION = re.compile(r"^\|\s*`[A-Za-z]+[ /,]")
PATH_PARAMETER = re.compile(r"\{[^{}/]+\}")
ERROR_CODE_ROW = re.compile(r"^\|\s*`(?P<code>[a-z_]+)`\s*\|")
# Where the application's code lives (tests, bench and reliability tooling answer no API call).
CODE_PACKAGES = ("wemaster", "wallet", "earnings", "messaging", "community")

# What docs/API.md documents whose code is on branches still in flight: issue 16's tutor
# onboarding, payout-method removal, the tutor's view of refund requests and strict
# bodies; issue 19's websocket bounds. Empty both sets when those branches are merged: from then
# on each operation must be in the schema and each code answered by the code.
PENDING_IN_OTHER_BRANCHES = {
    ("GET", "/api/v1/tutors/{}"),
    ("GET", "/api/v1/subjects"),
    ("PATCH", "/api/v1/earnings/payout-methods/{}"),
    ("DELETE", "/api/v1/earnings/payout-methods/{}"),
    ("GET", "/api/v1/earnings/refund-requests"),
    ("GET", "/api/v1/earnings/refund-requests/{}"),
}
PENDING_CODES_IN_OTHER_BRANCHES = {
    "tutor_not_bookable",
    "frame_too_large",
}


def normalized(path: str) -> str:
    return PATH_PARAMETER.sub("{}", path)


def doc_lines() -> list[str]:
    return API_DOC.read_text(encoding="utf-8").splitlines()


def documented_operations() -> list[tuple[str, str]]:
    """(METHOD, path as written) of every operation row, in document order."""
    return [
        (match["method"], match["path"]) for line in doc_lines() if (match := OPERATION_ROW.match(line)) is not None
    ]


def section(title: str) -> list[str]:
    """The lines of the `## title` section of docs/API.md."""
    lines = doc_lines()
    start = lines.index(f"## {title}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start + 1 : end]


@pytest.fixture(scope="module")
def schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), normalized(path))
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS
    }


def _listing(operations) -> str:
    return "\n".join(f"  {method} {path}" for method, path in sorted(operations, key=lambda op: (op[1], op[0])))


def test_every_row_that_names_an_operation_is_well_formed():
    malformed = [line for line in doc_lines() if LOOKS_LIKE_OPERATION.match(line) and not OPERATION_ROW.match(line)]
    assert not malformed, "rows must start with `METHOD /path`, one method per row:\n" + "\n".join(malformed)
    operations = [(method, normalized(path)) for method, path in documented_operations()]
    duplicates = {op for op in operations if operations.count(op) > 1}
    assert not duplicates, "documented twice:\n" + _listing(duplicates)
    assert len(operations) > 50  # the parser found the tables


def test_documented_operations_are_exactly_the_schema(schema_operations):
    documented = {(method, normalized(path)) for method, path in documented_operations() if path.startswith(API_PREFIX)}
    missing = schema_operations - documented
    extra = documented - schema_operations - PENDING_IN_OTHER_BRANCHES
    merged = PENDING_IN_OTHER_BRANCHES & schema_operations
    problems = []
    if missing:
        problems.append("in the OpenAPI schema but not in docs/API.md:\n" + _listing(missing))
    if extra:
        problems.append("in docs/API.md but not in the OpenAPI schema:\n" + _listing(extra))
    if merged:
        problems.append("in the schema now: remove from PENDING_IN_OTHER_BRANCHES:\n" + _listing(merged))
    assert not problems, "\n".join(problems)


def test_pending_operations_are_documented():
    documented = {(method, normalized(path)) for method, path in documented_operations()}
    assert PENDING_IN_OTHER_BRANCHES <= documented, _listing(PENDING_IN_OTHER_BRANCHES - documented)


def test_documented_paths_outside_the_api_exist():
    outside = [path for _, path in documented_operations() if not path.startswith(API_PREFIX)]
    assert outside, "the Operations table lists the probes"
    unresolved = []
    for path in outside:
        try:
            resolve(path)
        except Resolver404:
            unresolved.append(path)
    assert not unresolved, f"documented but not routed: {unresolved}"


# --- error codes ----------------------------------------------------------------------------------


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _string(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def codes_in_source(tree: ast.AST) -> set[str]:
    """Error codes a module can answer: `code = "..."` in a class body (the domain errors),
    `code="..."` passed to a call (DRF's ValidationError codes excepted: those name a field
    rule, the API answers `validation_error`), and the first argument of `error_body(...)` and
    `json_error_view(...)`."""
    codes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and any(isinstance(target, ast.Name) and target.id == "code" for target in statement.targets)
                    and _string(statement.value)
                ):
                    codes.add(_string(statement.value))
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name in ("error_body", "json_error_view") and node.args and _string(node.args[0]):
                codes.add(_string(node.args[0]))
            if not name.endswith("ValidationError"):
                codes.update(_string(kw.value) for kw in node.keywords if kw.arg == "code" and _string(kw.value))
    return codes


def emitted_codes() -> set[str]:
    from wemaster.core.errors import _DRF_CODES  # DRF's exceptions, mapped to the API's codes

    codes = set(_DRF_CODES.values())
    for package in CODE_PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            if "migrations" not in source.parts:
                codes |= codes_in_source(ast.parse(source.read_text(encoding="utf-8"), filename=str(source)))
    return codes


def documented_codes() -> list[str]:
    return [match["code"] for line in section("Error codes") if (match := ERROR_CODE_ROW.match(line)) is not None]


def test_the_code_scan_finds_codes_of_every_kind():
    tree = ast.parse(
        "class A(DomainError):\n    code = 'a_class'\n"
        "send(code='a_kwarg')\nerror_body('a_body', 'x')\n"
        "serializers.ValidationError({'f': ['x']}, code='field_rule')\nfailure_code = 'not_a_code'\n"
    )
    assert codes_in_source(tree) == {"a_class", "a_kwarg", "a_body"}


def test_error_code_table_lists_exactly_the_codes_the_code_answers():
    documented = documented_codes()
    duplicates = sorted({code for code in documented if documented.count(code) > 1})
    emitted = emitted_codes()
    missing = emitted - set(documented)
    extra = set(documented) - emitted - PENDING_CODES_IN_OTHER_BRANCHES
    merged = PENDING_CODES_IN_OTHER_BRANCHES & emitted
    assert not (duplicates or missing or extra or merged), (
        f"documented twice: {duplicates}\n"
        f"answered by the code but not in docs/API.md, Error codes: {sorted(missing)}\n"
        f"in docs/API.md but answered nowhere: {sorted(extra)}\n"
        f"emitted now: remove from PENDING_CODES_IN_OTHER_BRANCHES: {sorted(merged)}"
    )


# --- references -----------------------------------------------------------------------------------

REFERENCED_FILES = ("*.py", "*.md", "*.js", "*.html", "Makefile", "*.toml", "*.txt", "*.conf", "Procfile")
OUTSIDE_REFERENCE = re.compile(r"(?<![\w/])(DESIGN\.md|API\.md|ARCHITECTURE\.md)")


def test_every_reference_to_the_design_or_the_contract_points_inside_the_repository():
    """The contract and the design are docs/API.md and docs/ARCHITECTURE.md; a name without its
    docs/ folder, or a design document of another name, points at a file the reader does not have."""
    assert (ROOT / "docs/ARCHITECTURE.md").is_file()
    offending = []
    skipped = {".git", ".venv", "var", "node_modules", "staticfiles", "test-artifacts"}
    for pattern in REFERENCED_FILES:
        for path in ROOT.rglob(pattern):
            if skipped & set(path.relative_to(ROOT).parts):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                for match in OUTSIDE_REFERENCE.finditer(line):
                    # A Markdown link relative to its file resolves (docs/ARCHITECTURE.md links docs/API.md so).
                    relative_link = line[: match.start()].endswith("](") and (path.parent / match[1]).is_file()
                    if not relative_link:
                        offending.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offending, "\n".join(offending)
