"""A metric's own scrapeLabels replace service.scrapeLabels for its series: the kubelet's
volume statistics carry node, not the pod's labels. Its example, shaped as production's
series are, passes in promtool; without them, the example is refused for lacking labels
the series never have (tests/cases/invalid/metric-scrape-labels.yaml)."""

from __future__ import annotations

from rlmgen.judge.run import Tools, judge
from rlmgen.pipeline import compile_texts
from tests.conftest import REPO, require_tool

CASE = (REPO / "tests" / "cases" / "invalid" / "metric-scrape-labels.yaml").read_text()
# the case without its second alert (the `by (pod)` its golden reports)
VALID = CASE.split("      - name: VolumeByPod")[0]


def test_the_metrics_own_scrape_labels_shape_its_example() -> None:
    [result] = compile_texts({"specs/orders-db.yaml": VALID})
    assert [d.format() for d in result.diagnostics] == []
    [outcome] = judge([result], Tools(require_tool("promtool"), require_tool("amtool")), 1)
    assert outcome.diagnostics == ()


def test_without_them_the_example_lacks_the_services_scrape_labels() -> None:
    text = VALID.replace("    scrapeLabels: [job, instance, node]\n", "")
    [result] = compile_texts({"specs/orders-db.yaml": text})
    assert [(d.check, d.message) for d in result.errors if d.check == "examples/labels"] == [
        (
            "examples/labels",
            "the rule's series carry pod, which this example's labels do not name: its test "
            "would prove series production never has",
        ),
        (
            "examples/labels",
            "the rule's series never carry node (they carry {instance, job, namespace, "
            "persistentvolumeclaim, pod}): promtool would expect it and fail",
        ),
    ]
