"""Every public function and method of the unet package has a docstring and type annotations on
its parameters and return (what IDEs, help() and type checkers show a host's developer)."""
import importlib
import inspect

import pytest

import unet

# The public modules (unet.torch needs torch and is checked by the torch tests' imports).
MODULES = ["unet", "unet.model", "unet.segment", "unet.click", "unet.train", "unet.post",
           "unet.sample", "unet.importer", "unet._options"]


def public_callables():
    """(qualified name, callable) of every public function, class and method, once each."""
    seen, found = set(), []

    def add(name, obj):
        key = id(getattr(obj, "__func__", obj))
        if key not in seen:
            seen.add(key)
            found.append((name, obj))

    for module_name in MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [n for n in vars(module)
                                                       if not n.startswith("_")]
        if module_name == "unet._options":
            names = ["Options", "describe"]
        for name in names:
            obj = getattr(module, name)
            home = getattr(obj, "__module__", "")
            if module_name != "unet" and home != module_name:
                continue  # imported from elsewhere (checked where it is defined)
            if inspect.isclass(obj):
                add("%s.%s" % (module_name, name), obj)
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr not in ("__init__", "__call__"):
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if isinstance(member, property):
                        add("%s.%s.%s" % (module_name, name, attr), member.fget)
                    elif inspect.isfunction(member):
                        add("%s.%s.%s" % (module_name, name, attr), member)
                for attr in dir(obj):  # methods added from other modules (Model.segment)
                    member = getattr(obj, attr, None)
                    if not attr.startswith("_") and inspect.isfunction(member) \
                            and member.__module__.startswith("unet"):
                        add("%s.%s.%s" % (module_name, name, attr), member)
            elif inspect.isfunction(obj):
                add("%s.%s" % (module_name, name), obj)
    return found


def problems(name, obj):
    out = []
    if inspect.isclass(obj):
        if not (obj.__doc__ or "").strip():
            out.append("%s: no docstring" % name)
        return out
    if not (inspect.getdoc(obj) or "").strip():
        out.append("%s: no docstring" % name)
    sig = inspect.signature(obj)
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        if p.annotation is inspect.Parameter.empty:
            out.append("%s: parameter %s has no annotation" % (name, p.name))
    if sig.return_annotation is inspect.Signature.empty:
        out.append("%s: no return annotation" % name)
    return out


def test_public_api_is_documented_and_annotated():
    found = public_callables()
    names = {n for n, _ in found}
    # the walk reaches what hosts use (a walk that finds nothing would pass)
    for expected in ("unet.Model.predict", "unet.Model.segment", "unet.ClickSession.click",
                     "unet.train.Trainer.train", "unet.post.watershed", "unet.sample",
                     "unet.CancelToken.cancel", "unet.importer.import_bioimageio",
                     "unet.describe_options", "unet._options.Options.update"):
        assert expected in names, sorted(names)
    bad = [p for n, o in found for p in problems(n, o)]
    assert not bad, "\n".join(bad)
