"""Small Kubernetes helpers shared by the generators of manifests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rlmgen.model import types as m

_SUFFIXES = (("", 1), ("m", 1000), ("u", 1_000_000), ("n", 1_000_000_000))


def quantity(value: float) -> str:
    """A Kubernetes quantity: `10`, `0.1` -> `100m`, `2.5e-05` -> `25u`."""
    exact = Decimal(repr(value))
    for suffix, scale in _SUFFIXES:
        scaled = exact * scale
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{suffix}"
    return f"{round(value * 1_000_000_000)}n"


def labels(spec: m.Spec, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": spec.service.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "rlmgen",
    }


def metadata(spec: m.Spec, name: str, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": spec.service.namespace, "labels": labels(spec, component)}
