"""What the Carriers page works out before rendering: sparkline points, rates, table rows,
and every field's problem in the add form at once."""

from __future__ import annotations

from starlette.datastructures import FormData

from smsstreams.console.carriers import _rate, _settings_from, _view, sparkline


def test_sparkline_spans_the_width_with_the_peak_at_the_top() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 5, 10], width=100, height=28) == "0.0,27.0 50.0,14.0 100.0,1.0"
    # all zero: a flat line at the bottom (no division by zero)
    assert sparkline([0, 0], width=10, height=10) == "0.0,9.0 10.0,9.0"
    # below one message per second the scale stays at one
    assert sparkline([0.5], width=10, height=10) == "0.0,5.0"
    # a shared scale: failures drawn against the accepted peak
    assert sparkline([0, 5], peak=10, width=10, height=10) == "0.0,9.0 10.0,5.0"


def test_rates_are_short() -> None:
    assert [_rate(x) for x in (0, 0.04, 7.25, 99.94, 1249.6)] == ["0", "0", "7.2", "99.9", "1,250"]


def _row(state: str, stats: dict[str, object]) -> dict[str, object]:
    return {"name": "c1", "state": state, "stats": stats, "window": 10, "routes": []}


def test_rows_of_live_and_idle_connectors() -> None:
    stats = {
        "accepted": 1200, "errors": 3, "receipts": 1180, "outstanding": 4, "per_second_1m": 2.5,
        "state_since": "2026-11-28T10:00:00+00:00", "error_at": None,
        "history": {"step": 5.0, "accepted": [0, 10, 50], "failed": [0, 0, 5]},
    }  # fmt: skip
    view = _view(_row("bound", stats))
    assert view["live"] and view["rate"] == "2.5" and view["in_flight"] == 4
    assert (view["sent"], view["failed"], view["receipts"]) == (1200, 3, 1180)
    assert view["since"] == "2026-11-28T10:00:00+00:00"
    chart = view["chart"]
    assert chart["peak"] == 10.0 and chart["minutes"] == 0  # 15 s of history
    assert chart["accepted"].endswith("140.0,1.0")
    assert chart["failed"].endswith("140.0,24.4")  # 1/s against a peak of 10/s
    idle = _view(_row("disabled", stats))
    assert not idle["live"] and idle["since"] is None
    fresh = _view(_row("unbound", {}))
    assert fresh["chart"] is None and fresh["sent"] == 0 and fresh["rate"] == "0"


def test_the_add_form_reports_every_field_at_once() -> None:
    form = FormData(
        [
            ("name", "no spaces please"),
            ("host", "smsc.example.net"),
            ("port", ""),
            ("system_id", "a-system-id-that-is-too-long"),
            ("password", "  secret  "),
            ("window", "2000"),
            ("max_per_second", "fast"),
            ("bind_type", "transceiver"),
            ("concat", "udh7"),
            ("tls", "on"),
        ]
    )
    values, settings, errors = _settings_from(form)
    assert settings is None
    assert set(errors) == {"name", "port", "system_id", "password", "window", "max_per_second",
                           "concat"}  # fmt: skip
    assert errors["port"] == "port: required"
    assert errors["max_per_second"].startswith("max per second: a number")
    assert "password" not in values and values["tls"] is True and values["window"] == "2000"

    good = FormData(
        [("name", "c1"), ("host", "10.0.0.1"), ("port", "2775"), ("system_id", "acme"),
         ("password", "pw"), ("window", ""), ("source_npi", "1"), ("start_disabled", "on")]
    )  # fmt: skip
    _, settings, errors = _settings_from(good)
    assert errors == {} and settings is not None
    assert (settings.port, settings.window, settings.source_npi) == (2775, 10, 1)
    assert settings.enabled is False and settings.bind_type == "transceiver"
