"""House rule: no module uses another module's private (underscore) names.

Every module under ``sop_tasks/``, ``dags/`` and ``plugins/`` is parsed with :mod:`ast`. A module
fails when it

- imports an underscore name from another project module (``from sop_tasks.x import _y``);
- reads an underscore attribute of another project module or of a class imported from one
  (``twitter._y``, ``XApi._y``);
- reads an underscore attribute of an object it built from another module's class
  (``self._x = XApi(...)`` then ``self._x._y``, or ``api = XApi(...)`` then ``api._y``);
- reads, on anything but ``self``/``cls``, an underscore attribute that another project module
  defines and this module does not.

``self._x`` inside its own class is fine, and so is a module's use of its own private names on
other objects of its own classes. A helper one module needs from another is made public there.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("sop_tasks", "dags", "plugins")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    defines: set[str] = field(default_factory=set)  # underscore names this module defines


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[0] in ("dags", "plugins"):  # both folders are on sys.path: their files are top level
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def load_modules(root: Path, roots: tuple[str, ...] = ROOTS) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for top in roots:
        for path in sorted((root / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            mod = Module(module_name(root, path), path, tree)
            mod.defines = _defined_private(tree)
            modules[mod.name] = mod
    return modules


def _defined_private(tree: ast.Module) -> set[str]:
    """Underscore names a module defines: functions, classes, assignments (any level), class
    attributes and methods, and ``self._x = …`` attributes."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            found.add(node.attr)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
    return {n for n in found if _private(n)}


def _resolve(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = mod.name.split(".")
    if mod.path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _owner(name: str, modules: dict[str, Module]) -> str | None:
    """The project module ``name`` is, or the one it lives in (``sop_tasks.x.Y`` → ``sop_tasks.x``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def violations(modules: dict[str, Module], repo: Path) -> list[str]:
    found: list[str] = []
    for mod in modules.values():
        foreign: set[str] = set()  # local names bound to another module, or to a class of one
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    owner = _owner(alias.name, modules)
                    if owner and owner != mod.name:
                        foreign.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(mod, node)
                for alias in node.names:
                    owner = _owner(f"{source}.{alias.name}", modules) or _owner(source, modules)
                    if owner is None or owner == mod.name:
                        continue
                    if _private(alias.name):
                        found.append(
                            f"{mod.path.relative_to(repo)}:{node.lineno}: imports {alias.name} from {source}"
                        )
                    foreign.add(alias.asname or alias.name)
        # what is built from a foreign class: `x = Foreign(...)`, `self.x = Foreign(...)`
        built: set[str] = set()
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
                func = node.value.func
                root = func
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in foreign:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        built.add(ast.unparse(target))
        others = set().union(*(m.defines for m in modules.values() if m is not mod))
        for node in ast.walk(mod.tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            receiver = ast.unparse(node.value)
            where = f"{mod.path.relative_to(repo)}:{node.lineno}"
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if receiver in ("self", "cls") or (isinstance(root, ast.Call) and ast.unparse(root) == "super()"):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in foreign:
                found.append(f"{where}: uses {receiver}.{node.attr} (another module's private name)")
            elif receiver in built:
                found.append(f"{where}: uses {receiver}.{node.attr} of an object of another module's class")
            elif node.attr in others and node.attr not in mod.defines:
                found.append(f"{where}: uses .{node.attr}, a private name of another module")
    return found


def check(root: Path, roots: tuple[str, ...] = ROOTS) -> list[str]:
    return violations(load_modules(root, roots), root)


def test_no_module_uses_another_modules_private_names() -> None:
    assert check(REPO) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


LIB = """
_TABLE = {}
def _helper(): ...
def public(): ...
class Api:
    def __init__(self):
        self._client = object()
    def _whoami(self): ...
    def whoami(self):
        return self._whoami()
"""


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("from sop_tasks.lib import _helper\n", "imports _helper from sop_tasks.lib"),
        ("from .lib import _TABLE\n", "imports _TABLE from sop_tasks.lib"),
        ("from sop_tasks import lib\nlib._helper()\n", "uses lib._helper"),
        ("import sop_tasks.lib as l\nl._TABLE\n", "uses l._TABLE"),
        ("from sop_tasks.lib import Api\nApi._whoami(None)\n", "uses Api._whoami"),
        (
            "from sop_tasks.lib import Api\nclass C:\n    def __init__(self):\n        self._x = Api()\n"
            "    def _whoami(self):\n        return self._x._whoami()\n",
            "uses self._x._whoami of an object",
        ),
        ("from sop_tasks.lib import Api\napi = Api()\napi.whoami()\napi._client\n", "uses api._client"),
        ("def f(thing):\n    return thing._whoami()\n", "uses ._whoami, a private name of another module"),
    ],
)
def test_the_rule_catches_each_kind_of_reach_across(tmp_path: Path, user: str, expected: str) -> None:
    _write(tmp_path, {"sop_tasks/__init__.py": "", "sop_tasks/lib.py": LIB, "sop_tasks/user.py": user})
    found = check(tmp_path, ("sop_tasks",))
    assert len(found) == 1 and expected in found[0] and found[0].startswith("sop_tasks/user.py:"), found


def test_the_rule_allows_own_and_public_names(tmp_path: Path) -> None:
    user = (
        "from sop_tasks.lib import Api, public\n"
        "_OWN = 1\n"
        "class Mine:\n"
        "    def __init__(self):\n"
        "        self._api = Api()\n"
        "        self._n = 0\n"
        "    def same(self, other: 'Mine'):\n"
        "        return other._n + self._n + _OWN + self._api.whoami().__class__.__name__.__len__()\n"
        "public()\n"
    )
    _write(tmp_path, {"sop_tasks/__init__.py": "", "sop_tasks/lib.py": LIB, "sop_tasks/user.py": user})
    assert check(tmp_path, ("sop_tasks",)) == []
