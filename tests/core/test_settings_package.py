"""The settings package's shape: `base` and `business` declare each setting once, the environment
modules only set what is theirs, and no list or dict is declared in two modules."""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "wemaster" / "settings"
COMMON = ("base", "business")
ENVIRONMENTS = ("development", "production")


def declared(module: str) -> dict[str, list[ast.expr]]:
    """Upper-case names the module assigns at any depth (inside `if` blocks too), with the values."""
    names = defaultdict(list)
    for node in ast.walk(ast.parse((PACKAGE / f"{module}.py").read_text())):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    names[target.id].append(node.value)
    return names


def test_the_package_has_the_modules_the_init_selects():
    assert sorted(path.stem for path in PACKAGE.glob("*.py")) == sorted(["__init__", *COMMON, *ENVIRONMENTS])


def test_common_settings_are_declared_in_one_module_and_never_again_by_an_environment():
    base, business = declared("base"), declared("business")
    assert set(base) & set(business) == set()
    for environment in ENVIRONMENTS:
        assert set(declared(environment)) & (set(base) | set(business)) == set(), environment


def test_no_list_or_dict_is_declared_in_two_modules():
    containers = defaultdict(set)
    for module in (*COMMON, *ENVIRONMENTS):
        for name, values in declared(module).items():
            if any(isinstance(value, ast.List | ast.Dict | ast.Tuple | ast.Set) for value in values):
                containers[name].add(module)
    assert {name: modules for name, modules in containers.items() if len(modules) > 1} == {}


def test_what_development_sets_production_sets_too():
    """A setting only development decides would fall back to Django's default in production."""
    assert set(declared("development")) <= set(declared("production"))
