"""Photo page: upload a picture (or several, or a .zip of them), see every face boxed and labelled,
download the numbers. Reading the uploads and writing the downloads is ``fer.batch``'s."""

import json

import cv2
import pandas as pd
import streamlit as st

from app_pages.charts import emotion_legend, label_colors, probability_bars, probability_columns
from app_pages.resources import analyzer, mode_toggle, settings
from app_pages.uploads import show_refusal
from fer.batch import MAX_BATCH_MB, MAX_PHOTOS, encode_image, face_rows, labelled_name, read_uploads, zip_files
from fer.emotions import EMOTIONS
from fer.imageio import ImageError, load_image
from fer.mood import rows_to_csv
from fer.render import draw, label_text

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
MAX_PHOTO_MB = settings().max_photo_mb
MAX_ZIP_MB = min(MAX_BATCH_MB, st.get_option("server.maxUploadSize"))  # a .zip of photos, as the server allows
GALLERY = 24  # labelled thumbnails shown for a batch (all of them are in the zip)

st.title("Emotions in a photo")
st.caption("Every face is found and labelled with one of seven expressions. The photo stays in memory: nothing is saved.")

with st.sidebar:
    mode = mode_toggle("photo_mode")
uploads = st.file_uploader(
    "Photo",
    type=IMAGE_TYPES + ["zip"],
    accept_multiple_files=True,
    max_upload_size=max(MAX_PHOTO_MB, MAX_ZIP_MB),
    help=f"JPEG, PNG, WebP, BMP, GIF or TIFF up to {MAX_PHOTO_MB} MB each; several at once, or a .zip of photos "
    f"(up to {MAX_PHOTOS} photos and {MAX_BATCH_MB} MB in all)",
)
show_refusal()
if not uploads:
    st.info(
        "Upload a photo with one or more faces: a portrait, a group, a screenshot of a video call. "
        "Several photos, or a .zip of photos, give one table of every face."
    )
    st.stop()

# A photo over its own limit (the browser checks only the larger .zip limit) is refused from its size before
# it is decoded; a .zip's photos are checked from its directory before any is unpacked (fer.batch).
photos, problems = read_uploads(((u.name, u.getvalue()) for u in uploads), MAX_PHOTO_MB * 2**20)
single = len(uploads) == 1 and len(photos) == 1 and not uploads[0].name.lower().endswith(".zip")
trace = {"mode": mode, "model": analyzer(mode).classifier.version}
# Per photo: its name, its FrameResult, and for one photo the image; for a batch, only a thumbnail and the
# labelled JPEG are kept, so a batch holds one decoded photo at a time.
results = []
progress = None if single else st.progress(0.0, "Analysing…")
for i, photo in enumerate(photos):
    try:
        image = load_image(photo.data)
    except ImageError as err:
        problems.append(f"Cannot use {photo.name}: {str(err).replace('the upload', 'the file')}.")
        continue
    result = analyzer(mode)(image)
    if single:
        results.append((photo.name, result, image))
    else:
        picture = draw(image, result)
        thumb = cv2.resize(picture, (320, max(1, round(picture.shape[0] * 320 / picture.shape[1]))), interpolation=cv2.INTER_AREA)
        results.append((photo.name, result, (thumb, encode_image(picture))))
    if progress:
        progress.progress((i + 1) / len(photos), f"Analysing… {i + 1} of {len(photos)}")
if progress:
    progress.empty()

for problem in problems:  # one line each; an error when nothing is left to show
    (st.warning if results else st.error)(problem)
if not results:
    st.stop()


def table_of(rows: list[dict], faces) -> pd.DataFrame:
    """The shown table: labels marked when unsure ("sad?"), and each face's confidence."""
    shown = [r | {"label": label_text(f, show_confidence=False), "confidence": f.confidence} for r, f in zip(rows, faces)]
    return pd.DataFrame(shown)


if single:
    name, result, image = results[0]
    left, right = st.columns([3, 2])
    left.image(draw(image, result), caption=f"{name}: {result.width}x{result.height}", width="stretch")
    left.markdown(emotion_legend(), unsafe_allow_html=True)
    if not result.faces:
        right.warning(
            "No face found. Faces should be frontal, at least about 40 pixels wide, and not hidden by hands, "
            "masks or strong shadows."
        )
        st.stop()
    rows = face_rows(name, result)
    table = table_of(rows, result.faces)
    right.metric("Faces found", len(result.faces))
    right.dataframe(label_colors(table[["face", "label", "confidence"]]), hide_index=True, column_config=probability_columns())
    right.vega_lite_chart(*probability_bars(table))

    stem = name.rsplit(".", 1)[0]
    c1, c2 = st.columns(2)
    c1.download_button("Download CSV", rows_to_csv([r | trace for r in rows]), f"{stem}_emotions.csv", "text/csv", on_click="ignore")
    c2.download_button(
        "Download JSON", json.dumps({"file": name} | result.to_dict() | trace, indent=2), f"{stem}_emotions.json",
        "application/json", on_click="ignore",
    )
    st.stop()

# A batch: one table of every face, the labelled photos, and the CSV and the zip of them.
rows = [r for name, result, _ in results for r in face_rows(name, result)]
faces = [f for _, result, _ in results for f in result.faces]
c1, c2, c3 = st.columns(3)
c1.metric("Photos", len(results))
c2.metric("Faces found", len(faces))
c3.metric("Photos without a face", sum(not result.faces for _, result, _ in results))
st.markdown(emotion_legend(), unsafe_allow_html=True)
if rows:
    table = table_of(rows, faces)[["file", "face", "x", "y", "w", "h", "score", "label", "confidence", *EMOTIONS]]
    st.dataframe(
        label_colors(table), hide_index=True,
        column_config=probability_columns() | {"score": st.column_config.NumberColumn("detector score", format="%.2f")},
    )
else:
    st.warning("No face found in any photo.")

gallery = st.columns(4)
for i, (name, _, (thumb, _)) in enumerate(results[:GALLERY]):
    gallery[i % 4].image(thumb, caption=name, width="stretch")
if len(results) > GALLERY:
    st.caption(f"The first {GALLERY} of {len(results)} photos; all of them are in the zip.")

d1, d2 = st.columns(2)
if rows:
    d1.download_button("Download CSV", rows_to_csv([r | trace for r in rows]), "faces_emotions.csv", "text/csv", on_click="ignore")
d2.download_button(
    "Download labelled photos (.zip)", zip_files((labelled_name(name), jpeg) for name, _, (_, jpeg) in results),
    "labelled_photos.zip", "application/zip", on_click="ignore",
)
