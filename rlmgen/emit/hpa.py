"""`kubernetes/hpa-<workload>.yaml`: an autoscaling/v2 HorizontalPodAutoscaler per
autoscaled workload, in the service's namespace."""

from __future__ import annotations

from rlmgen.derive.kubernetes import hpa
from rlmgen.derive.rules import Rules
from rlmgen.model import types as m
from rlmgen.model.conventions import hpa_path
from rlmgen.output.yamlout import dump


def emit(spec: m.Spec, rules: Rules) -> dict[str, str]:
    return {hpa_path(w.name): dump(hpa(spec, w)) for w in spec.autoscaling}
