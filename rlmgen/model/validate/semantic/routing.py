"""Routing: unique receivers, each severity taken by one receiver, a declared default.
(One integration per receiver is the schema's oneOf.)"""

from __future__ import annotations

from rlmgen.model.validate.semantic.context import Context, items, text
from rlmgen.spec.diagnostics import join_pointer


def check(ctx: Context) -> None:
    routing = ctx.doc.get("routing")
    if not isinstance(routing, dict):
        return
    receivers = list(items(routing.get("receivers"), "/routing/receivers"))
    ctx.unique(iter(receivers), "name", "receiver")
    taken: dict[str, str] = {}
    for pointer, receiver in receivers:
        severities = receiver.get("severities")
        name = text(receiver, "name") or "?"
        if isinstance(severities, list):
            for index, severity in enumerate(severities):
                if not isinstance(severity, str):
                    continue
                if severity in taken and taken[severity] != name:
                    ctx.error(
                        join_pointer(join_pointer(pointer, "severities"), index),
                        f"severity '{severity}' is already routed to '{taken[severity]}'",
                        "give each severity one receiver; use 'route' on an alert to override",
                    )
                taken.setdefault(severity, name)
    if default := text(routing, "default"):
        ctx.check_receiver("/routing/default", default)
