"""Routing: unique receivers, one integration each, each severity taken once."""

from __future__ import annotations

from rlmgen.diagnostics import join_pointer
from rlmgen.validate.semantic.context import Context, items, text

INTEGRATIONS = ("pagerduty", "slack", "email", "webhook")


def check(ctx: Context) -> None:
    routing = ctx.doc.get("routing")
    if not isinstance(routing, dict):
        return
    receivers = list(items(routing.get("receivers"), "/routing/receivers"))
    ctx.unique(iter(receivers), "name", "receiver")
    taken: dict[str, str] = {}
    for pointer, receiver in receivers:
        present = [k for k in INTEGRATIONS if k in receiver]
        if len(present) != 1:
            found = ", ".join(present) if present else "none"
            ctx.error(
                pointer,
                f"a receiver sends through exactly one of {', '.join(INTEGRATIONS)}; found {found}",
                "split it into one receiver per integration",
                at_key=True,
            )
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
