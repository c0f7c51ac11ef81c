"""Vega-Lite charts the pages share, in the emotions' own colours, drawn with ``st.vega_lite_chart``.

Plain Vega-Lite specs rather than Altair objects: the live panel redraws its charts a few times a
second, and building and validating an Altair chart cost ~30 ms of the server's GIL each time, time
taken from the video thread."""

import pandas as pd
import streamlit as st

from fer.emotions import COLORS, EMOTIONS
from fer.render import UNSURE_BELOW

HEX = {e: "#%02x%02x%02x" % COLORS[e] for e in EMOTIONS}
_COLOR_SCALE = {"domain": list(EMOTIONS), "range": [HEX[e] for e in EMOTIONS]}


def emotion_legend() -> str:
    """The one legend of every page (``st.markdown(..., unsafe_allow_html=True)``): each emotion's colour,
    as boxes, bars and strips use it, and what a "?" after a label means."""
    chips = " ".join(
        f'<span style="background:{HEX[e]};color:#000;padding:1px 6px;border-radius:3px;white-space:nowrap">{e}</span>'
        for e in EMOTIONS
    )
    return (
        f'<div style="font-size:0.85em;line-height:1.9">{chips}<br>"sad?": an unsure label, confidence below '
        f"{UNSURE_BELOW:.0%}, where the fast mode is right less than half the time (dashed box)</div>"
    )


def probability_columns() -> dict:
    """``st.dataframe`` column settings: each emotion's probability as a bar in its own colour (a
    ProgressColumn without a colour draws every bar in the theme's primary colour, red), and the
    confidence in a neutral grey (it belongs to whichever label the row has)."""
    bar = dict(format="percent", min_value=0.0, max_value=1.0)
    return {e: st.column_config.ProgressColumn(e, color=HEX[e], **bar) for e in EMOTIONS} | {
        "confidence": st.column_config.ProgressColumn("confidence", color="gray", **bar)
    }


def label_colors(table: pd.DataFrame, column: str = "label"):
    """A Styler that fills each label cell with its emotion's colour ("sad?" too)."""
    def fill(label) -> str:
        emotion = str(label).rstrip("?")
        r, g, b = COLORS.get(emotion, (255, 255, 255))
        return f"background-color: rgba({r}, {g}, {b}, 0.55); color: #000" if emotion in COLORS else ""

    return table.style.map(fill, subset=[column])


def probability_bars(table: pd.DataFrame, height: int = 150, row: str = "face") -> tuple[pd.DataFrame, dict]:
    """One row of seven bars per face; ``table`` has a ``face`` column and one column per emotion.
    ``row`` titles the rows (and the bars' axis: a face's probability, or a class's share)."""
    long = table.melt(id_vars=["face"], value_vars=list(EMOTIONS), var_name="emotion", value_name="probability")
    spec = {
        "mark": "bar",
        "height": height,
        "width": 260,
        "encoding": {
            "x": {"field": "probability", "type": "quantitative", "axis": {"format": "%"}, "scale": {"domain": [0, 1]},
                  "title": "share of faces" if row == "share" else "probability"},
            "y": {"field": "emotion", "type": "nominal", "sort": list(EMOTIONS), "title": None, "axis": {"labelOverlap": False}},
            "color": {"field": "emotion", "type": "nominal", "scale": _COLOR_SCALE, "legend": None},
            "row": {"field": "face", "type": "nominal", "title": None if row == "share" else "face", "header": {"labelAngle": 0}},
            "tooltip": [
                {"field": "face"},
                {"field": "emotion"},
                {"field": "probability", "type": "quantitative", "format": ".1%"},
            ],
        },
    }
    return long, spec


def timeline_chart(rows: list[dict], clock: bool = False, height: int = 220) -> tuple[pd.DataFrame, dict]:
    """Stacked shares of the emotions seen per time bucket (``fer.mood.Timeline.rows()``); with ``clock``,
    ``t`` is Unix time and the axis shows the viewer's clock time."""
    long = pd.DataFrame(
        [{"t": r["t"] * 1000 if clock else r["t"], "emotion": e, "order": i, "share": r["distribution"][e]}
         for r in rows for i, e in enumerate(EMOTIONS)]
    )
    spec = {
        "mark": "area",
        "height": height,
        "encoding": {
            "x": {"field": "t", "type": "temporal", "title": "time", "axis": {"format": "%H:%M:%S"}}
            if clock
            else {"field": "t", "type": "quantitative", "title": "seconds since start"},
            "y": {"field": "share", "type": "quantitative", "stack": "normalize", "axis": {"format": "%"}, "title": "share of faces"},
            "color": {"field": "emotion", "type": "nominal", "scale": _COLOR_SCALE, "legend": {"orient": "top", "direction": "horizontal", "title": None}},
            "order": {"field": "order", "type": "quantitative"},
            "tooltip": [{"field": "t", "type": "temporal", "format": "%H:%M:%S"} if clock else {"field": "t"}, {"field": "emotion"}, {"field": "share", "type": "quantitative", "format": ".0%"}],
        },
    }
    return long, spec


def tracks_chart(rows: list[dict], height_per_face: int = 28) -> tuple[pd.DataFrame, dict]:
    """Each followed face of a video as a row of ticks over time, each tick in the colour of the label at
    that analysed frame (``fer.video.FaceLog.rows``: t, track, label, probabilities)."""
    table = pd.DataFrame(rows)[["t", "track", "label", *EMOTIONS]]
    table["confidence"] = table[list(EMOTIONS)].max(axis=1)
    spec = {
        "mark": {"type": "tick", "thickness": 3},
        "height": {"step": height_per_face},
        "encoding": {
            "x": {"field": "t", "type": "quantitative", "title": "seconds since start"},
            "y": {"field": "track", "type": "ordinal", "title": "face"},
            "color": {"field": "label", "type": "nominal", "scale": _COLOR_SCALE, "legend": {"orient": "top", "direction": "horizontal", "title": None}},
            "opacity": {"field": "confidence", "type": "quantitative", "scale": {"domain": [UNSURE_BELOW * 0.5, 1], "range": [0.25, 1]}, "legend": None},
            "tooltip": [{"field": "t"}, {"field": "track", "title": "face"}, {"field": "label"},
                        {"field": "confidence", "type": "quantitative", "format": ".0%"}],
        },
    }
    return table, spec
