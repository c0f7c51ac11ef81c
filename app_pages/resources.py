"""What the pages share: the analyzer, created once per server process."""

import streamlit as st

from fer.faces import HaarDetector
from fer.pipeline import Analyzer


@st.cache_resource(show_spinner="Loading the emotion model…")
def analyzer(mode: str = "fast") -> Analyzer:
    return Analyzer.default(mode)


@st.cache_resource(show_spinner="Loading the emotion model…")
def live_analyzer() -> Analyzer:
    """The shared classifier with a detector tuned for speed on video: a coarser scale step on a
    480-wide copy of the frame."""
    return Analyzer(HaarDetector(scale_factor=1.2, min_neighbors=4, work_width=480), analyzer().classifier)
