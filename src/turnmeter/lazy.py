"""A package ``__getattr__`` (PEP 562) that imports each public name on first use."""

from __future__ import annotations

# Not typing.TYPE_CHECKING: `import turnmeter` (and `turnmeter --help`) loads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def lazy_getattr(
    package: str, modules: Mapping[str, tuple[str, ...]], namespace: dict[str, object]
) -> Callable[[str], object]:
    """``package``'s ``__getattr__``: a name from ``modules`` (module -> the names it gives)
    is imported from its module when first asked for, then kept in ``namespace``."""
    home = {name: module for module, names in modules.items() for name in names}

    def getattr_(name: str) -> object:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib  # here, not at the top: `turnmeter --help` never needs it

        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return getattr_
