"""Feast without typeguard's import-time instrumentation: ~4.5 s off every process start.

Feast 0.67 decorates its core classes (``Entity``, ``Field``, ``FeatureView``, the data
sources, …) with typeguard's ``@typechecked``. Typeguard 4 instruments at decoration time: for
every decorated function it re-reads and re-parses the whole module's source, rewrites the AST
and compiles it again (242 functions, in every new process, no cache; typeguard issue #468).
Measured here: ``import feast`` 5.2 s, ``import ml_platform.definitions`` 9.3 s → 4.5 s without
it. Every Dagster run and step process, the code server, the CLI and the scoring service pay
that on start.

Typeguard's own off switch is Python's optimised mode (``-O``: "checks aren't meant to be run
in production"), which would also strip every ``assert`` of every library. Instead,
:func:`install` wraps ``typeguard.typechecked`` so that targets defined in the ``feast``
package are returned unchanged — exactly what ``-O`` does for them — and everything else is
instrumented as before. It must run before Feast is imported: the package's ``__init__`` calls
it. Feast's arguments are still validated by its own constructors and by ``feast apply``; the
project's feature definitions are generated from the catalog and applied in the tests.
"""

import functools
from collections.abc import Callable
from typing import Any

import typeguard

_SKIPPED_PACKAGE = "feast"
_INSTALLED_MARK = "_ml_platform_skips_feast"


def _is_feasts(target: object) -> bool:
    module = getattr(target, "__module__", None) or ""
    return module.split(".")[0] == _SKIPPED_PACKAGE


def install() -> None:
    """Make ``typeguard.typechecked`` leave Feast's classes and functions uninstrumented."""
    original: Callable[..., Any] = typeguard.typechecked
    if getattr(original, _INSTALLED_MARK, False):
        return

    @functools.wraps(original)
    def typechecked(target: Any = None, **options: Any) -> Any:
        if target is None:  # used as @typechecked(...): the target comes next
            return functools.partial(typechecked, **options)
        if _is_feasts(target):
            return target
        return original(target, **options)

    setattr(typechecked, _INSTALLED_MARK, True)
    typeguard.typechecked = typechecked
