"""Metrics: unique names, units of levels, level order against their direction."""

from __future__ import annotations

import itertools
import re
from typing import Any

from rlmgen.lang.levels import Level, parse_level
from rlmgen.lang.units import UnitError
from rlmgen.model.conventions import threshold_alert_name
from rlmgen.model.validate.semantic.context import Context, items, mapping_at, text
from rlmgen.spec.diagnostics import join_pointer

ALERT_LEVELS = ("info", "warning", "critical")  # least to most severe


def check(ctx: Context) -> None:
    entries = list(items(ctx.doc.get("metrics"), "/metrics"))
    ctx.unique(iter(entries), "name", "metric")
    ctx.unique(iter(entries), "record", "recording rule")
    minimum, which = ctx.min_hold()
    for pointer, metric in entries:
        alert = mapping_at(metric, "alert")
        ctx.check_hold(
            join_pointer(join_pointer(pointer, "alert"), "for"), alert.get("for"), minimum, which
        )
        if ctx.strict and text(metric, "expr") and not metric.get("examples"):
            ctx.warning(
                join_pointer(pointer, "expr"),
                f"recording rule of '{metric.get('name')}' has no example, so no promtool "
                "test proves what it computes",
                "add examples: input series, at, value",
            )
        for key in ("expr", "limit"):
            if expr := text(metric, key):
                ctx.check_series(join_pointer(pointer, key), expr)
        record = text(metric, "record")
        if record and record in ctx.metrics:
            ctx.error(
                join_pointer(pointer, "record"),
                f"recording rule '{record}' has the name of a declared metric",
                "record under a level:metric:operations name",
            )
        levels = metric.get("levels")
        if isinstance(levels, dict):
            _check_levels(ctx, join_pointer(pointer, "levels"), metric, levels)


def _check_levels(
    ctx: Context, pointer: str, metric: dict[str, Any], levels: dict[str, Any]
) -> None:
    unit = ctx.unit_of(metric)
    has_limit = text(metric, "limit") is not None
    parsed: dict[str, Level] = {}
    for key in ("target", *ALERT_LEVELS):
        raw = levels.get(key)
        if raw is None or isinstance(raw, bool) or not isinstance(raw, str | int | float):
            continue
        try:
            parsed[key] = parse_level(
                raw, unit, has_limit=has_limit, allow_qualitative=key == "target"
            )
        except UnitError as exc:
            if _shape_ok(raw):
                ctx.error(join_pointer(pointer, key), exc.message, exc.hint)
    alerting = {k: v for k, v in parsed.items() if k != "target"}
    for key, level in alerting.items():
        where = join_pointer(pointer, key)
        if level.kind == "band":
            ctx.error(
                where,
                f"{key} level {level.text!r} is a band, which is a target, not an alert level",
                f'alert outside it with "outside {level.text}", or on one side with '
                f'"> {_band_high_text(level.text)}"',
            )
        elif level.kind == "exact":
            ctx.error(
                where,
                f"{key} level {level.text!r} has no direction",
                f'write "> {level.text}" or "< {level.text}"',
            )
    directional = {k: v for k, v in alerting.items() if v.is_threshold}
    _register_alerts(ctx, pointer, metric, directional)
    _check_same_direction(ctx, pointer, directional)
    _check_order(ctx, pointer, directional)
    if "target" in parsed and directional:
        _check_target_side(ctx, pointer, parsed["target"], directional)
    relative = any(v.kind in ("increase", "decrease") for v in directional.values())
    if relative and "baseline" not in levels:
        first = next(k for k, v in directional.items() if v.kind in ("increase", "decrease"))
        ctx.error(
            join_pointer(pointer, first),
            "a relative level needs a 'baseline' window to compare against",
            "add baseline: 7d (or the window that fits) to the levels",
        )
    if not relative and "baseline" in levels:
        ctx.error(
            join_pointer(pointer, "baseline"),
            "'baseline' is only used by relative levels such as \"> 20% increase\"",
            at_key=True,
        )


def _register_alerts(
    ctx: Context, pointer: str, metric: dict[str, Any], levels: dict[str, Level]
) -> None:
    """The alerts these levels raise take part in the duplicate-alert check."""
    name = text(metric, "name")
    if not levels or name is None:
        return
    alert = mapping_at(metric, "alert")
    explicit = text(alert, "name")
    alert_name = threshold_alert_name(name, next(iter(levels.values())).kind, explicit)
    labels = {k: v for k, v in mapping_at(alert, "labels").items() if isinstance(v, str)}
    for severity in levels:
        ctx.register_alert(
            join_pointer(pointer, severity), alert_name, {**labels, "severity": severity}
        )


def _band_high_text(text: str) -> str:
    return re.split(r"\s*(?:-|–|\.\.|to)\s*", text)[-1]


def _shape_ok(raw: object) -> bool:
    """Whether the level parses without units (else the schema pass reported it)."""
    try:
        parse_level(raw, None, has_limit=None, allow_qualitative=True)  # type: ignore[arg-type]
    except UnitError:
        return False
    return True


def _direction(level: Level) -> str:
    return {"above": "up", "increase": "up", "below": "down", "decrease": "down"}[level.kind]


def _check_same_direction(ctx: Context, pointer: str, levels: dict[str, Level]) -> None:
    kinds = {k: v.kind for k, v in levels.items()}
    if len(set(kinds.values())) > 1:
        first_key = next(iter(levels))
        for key, level in list(levels.items())[1:]:
            if level.kind != kinds[first_key]:
                ctx.error(
                    join_pointer(pointer, key),
                    f"{key} level {level.text!r} does not go the same way as "
                    f"{first_key} level {levels[first_key].text!r}",
                    "all alert levels of a metric compare in one direction",
                )


def _check_order(ctx: Context, pointer: str, levels: dict[str, Level]) -> None:
    ordered = [(k, levels[k]) for k in ALERT_LEVELS if k in levels]
    for (low_key, low), (high_key, high) in itertools.pairwise(ordered):
        if low.kind != high.kind or low.value is None or high.value is None:
            continue
        if low.kind == "outside":
            _check_bands_widen(ctx, pointer, (low_key, low), (high_key, high))
            continue
        rising = _direction(low) == "up"
        in_order = high.value > low.value if rising else high.value < low.value
        if not in_order:
            way = "above" if rising else "below"
            ctx.error(
                join_pointer(pointer, high_key),
                f"{high_key} level {high.text!r} must be {way} {low_key} level {low.text!r}",
                f"the metric alerts when it goes {'up' if rising else 'down'}: the more "
                "severe level is further that way",
            )


def _check_bands_widen(
    ctx: Context, pointer: str, inner: tuple[str, Level], outer: tuple[str, Level]
) -> None:
    """A more severe 'outside' band is wider: it fires further from the target."""
    (inner_key, inner_level), (outer_key, outer_level) = inner, outer
    assert inner_level.high is not None and outer_level.high is not None
    assert inner_level.value is not None and outer_level.value is not None
    if not (outer_level.value < inner_level.value and outer_level.high > inner_level.high):
        ctx.error(
            join_pointer(pointer, outer_key),
            f"{outer_key} band {outer_level.text!r} must be wider than {inner_key} band "
            f"{inner_level.text!r} on both sides",
            "the more severe level fires further from the target",
        )


def _check_target_side(ctx: Context, pointer: str, target: Level, levels: dict[str, Level]) -> None:
    if target.value is None or target.kind in ("qualitative",):
        return
    key, nearest = next((k, levels[k]) for k in ALERT_LEVELS if k in levels)
    if nearest.kind == "outside" and nearest.value is not None and nearest.high is not None:
        top = target.high if target.high is not None else target.value
        if target.value < nearest.value or top > nearest.high:
            ctx.error(
                join_pointer(pointer, "target"),
                f"target {target.text!r} lies outside the {key} band {nearest.text!r}",
                "the target is the healthy side of every alert level",
            )
        return
    if nearest.kind not in ("above", "below") or nearest.value is None:
        return
    worst_target = (
        target.high if target.kind == "band" and target.high is not None else target.value
    )
    if (nearest.kind == "above" and worst_target > nearest.value) or (
        nearest.kind == "below" and target.value < nearest.value
    ):
        ctx.error(
            join_pointer(pointer, "target"),
            f"target {target.text!r} lies past the {key} level {nearest.text!r}",
            "the target is the healthy side of every alert level",
        )
