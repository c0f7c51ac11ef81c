"""Photo page: upload a picture, see every face boxed and labelled, download the numbers."""

import json

import pandas as pd
import streamlit as st

from app_pages.charts import probability_bars
from app_pages.resources import analyzer, mode_toggle, settings
from fer.emotions import EMOTIONS
from fer.imageio import ImageError, load_image
from fer.render import draw

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
MAX_PHOTO_MB = settings().max_photo_mb

st.title("Emotions in a photo")
st.caption("Every face is found and labelled with one of seven expressions. The photo stays in memory: nothing is saved.")

with st.sidebar:
    mode = mode_toggle("photo_mode")
upload = st.file_uploader(
    "Photo", type=IMAGE_TYPES, max_upload_size=MAX_PHOTO_MB, help=f"JPEG, PNG, WebP, BMP, GIF or TIFF up to {MAX_PHOTO_MB} MB"
)
if upload is None:
    st.info("Upload a photo with one or more faces: a portrait, a group, a screenshot of a video call.")
    st.stop()

data = upload.getvalue()
if len(data) > MAX_PHOTO_MB * 1024 * 1024:
    st.error(f"{upload.name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_PHOTO_MB} MB.")
    st.stop()
try:
    image = load_image(data)
except ImageError as err:
    st.error(f"Cannot use {upload.name}: {str(err).replace('the upload', 'the file')}.")
    st.stop()

result = analyzer(mode)(image)
left, right = st.columns([3, 2])
left.image(draw(image, result), caption=f"{upload.name}: {result.width}x{result.height}", width="stretch")

if not result.faces:
    right.warning(
        "No face found. Faces should be frontal, at least about 40 pixels wide, and not hidden by hands, "
        "masks or strong shadows."
    )
    st.stop()

rows = [
    {"face": i, "label": f.label, "confidence": f.confidence, "x": f.box[0], "y": f.box[1], "w": f.box[2], "h": f.box[3]}
    | f.to_dict()["probabilities"]
    for i, f in enumerate(result.faces, 1)
]
table = pd.DataFrame(rows)
right.metric("Faces found", len(result.faces))
right.dataframe(
    table[["face", "label", "confidence"]],
    hide_index=True,
    column_config={"confidence": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
)

right.vega_lite_chart(*probability_bars(table))

stem = upload.name.rsplit(".", 1)[0]
c1, c2 = st.columns(2)
c1.download_button("Download CSV", table.to_csv(index=False), f"{stem}_emotions.csv", "text/csv")
c2.download_button("Download JSON", json.dumps(result.to_dict(), indent=2), f"{stem}_emotions.json", "application/json")
