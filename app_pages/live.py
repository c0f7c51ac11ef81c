"""Live camera page: the browser's webcam through WebRTC, each frame analysed and drawn on."""

import json
import os

import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from app_pages.resources import live_analyzer
from fer.render import draw

st.title("Live camera")
st.caption("Frames are analysed in memory on the server and never stored.")

model = live_analyzer()


def on_frame(frame: av.VideoFrame) -> av.VideoFrame:
    # Runs in streamlit-webrtc's worker thread: no st.* calls here.
    image = frame.to_ndarray(format="rgb24")
    return av.VideoFrame.from_ndarray(draw(image, model.analyze(image)), format="rgb24")


# ICE servers (STUN/TURN) for hosted deployments, as JSON, e.g.
# FER_ICE_SERVERS='[{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]'.
# Without it only direct connections work, which is enough on localhost.
ice_servers = json.loads(os.environ.get("FER_ICE_SERVERS", "[]"))
webrtc_streamer(
    key="live",
    mode=WebRtcMode.SENDRECV,
    video_frame_callback=on_frame,
    media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
    rtc_configuration={"iceServers": ice_servers},
    async_processing=True,
)
