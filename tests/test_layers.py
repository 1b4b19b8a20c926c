"""The layer rule, read from the source: each layer imports only the layers above it.

core (1) imports nothing of keyhive outside core; storage and counters (2) nothing of the
service or a face; the service (3) no concrete backend, only the layer-2 protocols and
the one factory; no face (cli, server, integrations) imports another face.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "keyhive"
FACES = ("cli", "server", "integrations")
#: What the service may import from layer 2: protocols, value types and the factory.
SERVICE_MAY_USE = {
    "keyhive.storage",
    "keyhive.storage._protocol",
    "keyhive.storage.oauth",  # the OAuth part of the Store protocol
    "keyhive.storage.webhooks",  # the webhook part of the Store protocol
    "keyhive.counters.protocols",
    "keyhive.counters.factory",
}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every keyhive module a file imports, relative imports resolved."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("keyhive.")}


def _layer(module: str) -> str:
    part = module.split(".")[1] if "." in module else ""
    return part


SOURCES = sorted(PACKAGE.rglob("*.py"))


def _existing(names: set[str]) -> set[str]:
    """Drop names that are attributes, not modules (``from keyhive.core import errors``
    names a module; ``from keyhive.core.model import Code`` names a class)."""
    modules = {_module(p) for p in SOURCES}
    return {n for n in names if n in modules}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_keeps_to_its_layer(path: Path) -> None:
    module = _module(path)
    layer = _layer(module)
    imported = _existing(_imports(path))
    layers = {_layer(name) for name in imported}
    if layer == "core":
        assert layers <= {"core"}, f"{module} imports {sorted(imported)}"
    elif layer in ("storage", "counters"):
        assert layers <= {"core", "storage", "counters"}, f"{module}: {sorted(imported)}"
    elif layer == "service":
        below = {n for n in imported if _layer(n) in ("storage", "counters")}
        assert below <= SERVICE_MAY_USE, f"{module} uses concrete backends: {sorted(below)}"
        assert not layers & set(FACES), f"{module} imports a face"
    elif layer in FACES:
        others = layers & set(FACES) - {layer}
        assert not others, f"{module} imports another face: {sorted(others)}"


def test_the_root_holds_only_the_public_names() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert loose == [], "modules belong in the folder of their layer"
