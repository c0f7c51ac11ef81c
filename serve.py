"""The app's server: ``streamlit run serve.py`` (``make run``, the Procfile, the Dockerfile). It serves the app
(``app.py``, whose pages AppTest also runs alone) through ``st.App``, Streamlit's own way to add ASGI
middleware, with :class:`app_pages.uploads.UploadBudget` in front of Streamlit's upload endpoint: Streamlit
alone would keep every upload a visitor sends, however many (SECURITY.md, "Limits that protect the server")."""

import asyncio
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware

from app_pages.resources import settings
from app_pages.uploads import MB, DepartedUploads, UploadBudget
from fer.settings import SettingsError

# The settings as the pages read them (resources.settings, here without its cache, which needs a page run).
SETTINGS = settings.__wrapped__()
# The largest upload, checked by Streamlit while the body arrives (.streamlit/config.toml).
MAX_UPLOAD_MB = st.get_option("server.maxUploadSize")
if SETTINGS.max_video_mb > MAX_UPLOAD_MB:
    raise SettingsError(
        f"FER_MAX_VIDEO_MB is {SETTINGS.max_video_mb}, over server.maxUploadSize ({MAX_UPLOAD_MB} MB, "
        ".streamlit/config.toml): raise both together"
    )
# One visitor may hold the largest upload and a photo at once: the class page's recorded lecture and its
# screenshot, or a photo batch (200 MB in all, fer.batch.MAX_BATCH_MB) and one more photo.
PER_VISITOR = (MAX_UPLOAD_MB + SETTINGS.max_photo_mb) * MB

# A session whose browser left is resumed for server.disconnectedSessionTTL seconds; its uploads are released
# then (checked every few seconds), not whenever Streamlit gets round to reaping the session.
RESUME_S = st.get_option("server.disconnectedSessionTTL")
DEPARTED = DepartedUploads(after=RESUME_S)


@asynccontextmanager
async def lifespan(_app):
    sweeper = asyncio.create_task(DEPARTED.run(every=min(10.0, max(1.0, RESUME_S / 4))))
    try:
        yield
    finally:
        sweeper.cancel()


app = st.App(
    "app.py",
    lifespan=lifespan,
    middleware=[
        Middleware(UploadBudget, max_file=MAX_UPLOAD_MB * MB, per_visitor=PER_VISITOR, total=SETTINGS.max_uploads_mb * MB)
    ],
)
