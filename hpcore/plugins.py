"""The plugin manager: built-in features and third-party plugins, registered the same way.

Built-ins are modules listed in :data:`BUILTIN_PLUGINS`; third-party plugins come from the ``hpcore``
entry-point group, unless ``HPCORE_DISABLE_PLUGIN_AUTOLOAD=1``. A plugin that fails to import, or that
implements a misspelled hook, is skipped with a warning and listed by :func:`failed_plugins` (and
``hpcore plugins``); the others keep working.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pluggy

from hpcore import hookspec
from hpcore.errors import PluginError

__all__ = [
    "BUILTIN_PLUGINS",
    "Registered",
    "failed_plugins",
    "loaded_plugins",
    "get_plugin_manager",
    "lookup",
    "register",
    "registry",
    "unregister",
]

BUILTIN_PLUGINS = (
    "hpcore.strategies.random",
    "hpcore.strategies.grid",
    "hpcore.strategies.bayesian",
    "hpcore.stopping.basic",
    "hpcore.stopping.median",
    "hpcore.stopping.asha",
    "hpcore.stopping.auto",
    "hpcore.strategies.hyperband",
    "hpcore.executors.inprocess",
    "hpcore.executors.processes",
    "hpcore.executors.dask",
    "hpcore.algorithms",
    "hpcore.models",
)
KINDS = {
    "strategies": ("hpcore_add_strategies", "strategy"),
    "stoppers": ("hpcore_add_stoppers", "stopper"),
    "executors": ("hpcore_add_executors", "executor"),
    "algorithms": ("hpcore_add_algorithms", "algorithm"),
    "model_formats": ("hpcore_add_model_formats", "model format"),
}
ENTRY_POINT_GROUP = "hpcore"

_pm: pluggy.PluginManager | None = None
_failures: list[tuple[str, str]] = []
_sources: dict[str, str] = {}
_cache: dict[str, dict[str, Registered]] = {}


@dataclass(frozen=True)
class Registered:
    """A named factory and the plugin that registered it."""

    name: str
    factory: Any
    plugin: str


def _unknown_hooks(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    known = {name for name in dir(hookspec) if name.startswith("hpcore_")}
    return sorted(n for n in dir(plugin) if n.startswith("hpcore_") and n not in known
                  and callable(getattr(plugin, n, None)))


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created (and plugins loaded) on first use."""
    global _pm
    if _pm is not None:
        return _pm
    pm = pluggy.PluginManager("hpcore")
    pm.add_hookspecs(hookspec)
    for modname in BUILTIN_PLUGINS:
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:  # not shipped in this build
                continue
            raise
        pm.register(module, name=modname)
    if os.environ.get("HPCORE_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true", "yes"):
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            where = f"{ep.name} ({ep.value})"
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party plugin must not break hpcore
                _failures.append((where, f"{type(exc).__name__}: {exc}"))
                warnings.warn(f"hpcore plugin {where} failed to load and is skipped: {exc}", stacklevel=2)
                continue
            unknown = _unknown_hooks(pm, plugin)
            if unknown:
                msg = f"implements unknown hook(s) {', '.join(unknown)} (misspelled?)"
                _failures.append((where, msg))
                warnings.warn(f"hpcore plugin {where} {msg}; it is skipped", stacklevel=2)
                continue
            if pm.is_registered(plugin) or pm.has_plugin(ep.name):
                continue
            pm.register(plugin, name=ep.name)
            dist = getattr(ep, "dist", None)
            _sources[ep.name] = f"entry point {ep.value}" + (f" of {dist.name} {dist.version}" if dist else "")
    pm.check_pending()
    _pm = pm
    return pm


def register(plugin: Any, name: str | None = None) -> str:
    """Registers a plugin object or module at run time (for example in tests or notebooks).

    Raises:
        PluginError: When a plugin of that name is already registered, or it implements unknown hooks.
    """
    pm = get_plugin_manager()
    unknown = _unknown_hooks(pm, plugin)
    if unknown:
        raise PluginError(f"plugin {name or plugin!r} implements unknown hook(s) {', '.join(unknown)}")
    try:
        registered = pm.register(plugin, name=name)
    except ValueError as exc:
        raise PluginError(f"cannot register plugin {name or plugin!r}: {exc}") from None
    _cache.clear()
    return registered or ""


def unregister(name_or_plugin: Any) -> None:
    """Removes a plugin registered with :func:`register`."""
    pm = get_plugin_manager()
    if isinstance(name_or_plugin, str):
        pm.unregister(name=name_or_plugin)
    else:
        pm.unregister(name_or_plugin)
    _cache.clear()


def loaded_plugins() -> list[tuple[str, str]]:
    """Every registered plugin: ``(name, where it comes from)``."""
    pm = get_plugin_manager()
    out = []
    for name, _plugin in pm.list_name_plugin():
        if name.startswith("hpcore-progress-"):
            continue
        source = "built-in" if name in BUILTIN_PLUGINS else _sources.get(name, "registered at run time")
        out.append((name, source))
    return out


def failed_plugins() -> list[tuple[str, str]]:
    """Plugins from entry points that could not be loaded: ``(name, reason)``."""
    get_plugin_manager()
    return list(_failures)


def registry(kind: str) -> dict[str, Registered]:
    """The merged registry of one kind: ``strategies``, ``stoppers``, ``executors`` or ``algorithms``.

    Raises:
        PluginError: When two plugins register the same name.
    """
    if kind not in KINDS:
        raise PluginError(f"unknown registry {kind!r}; use one of {', '.join(KINDS)}")
    if kind in _cache:
        return _cache[kind]
    pm = get_plugin_manager()
    hook_name, label = KINDS[kind]
    out: dict[str, Registered] = {}
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        added = impl.function() or {}
        for name, factory in added.items():
            if name in out:
                raise PluginError(
                    f"{label} {name!r} is registered twice: by plugin {out[name].plugin!r} and by "
                    f"plugin {impl.plugin_name!r}; rename one of them"
                )
            out[name] = Registered(name, factory, impl.plugin_name)
    _cache[kind] = out
    return out


def lookup(kind: str, name: str) -> Any:
    """The factory registered under ``name``.

    Raises:
        PluginError: When no plugin registered that name (the message lists those registered).
    """
    reg = registry(kind)
    if name not in reg:
        label = KINDS[kind][1]
        raise PluginError(
            f"unknown {label} {name!r}; registered {kind}: {', '.join(sorted(reg)) or '(none)'}"
        )
    return reg[name].factory


def call_hook(hook: str, **kwargs: Any) -> Any:
    """Calls a hook with keyword arguments."""
    return getattr(get_plugin_manager().hook, hook)(**kwargs)
