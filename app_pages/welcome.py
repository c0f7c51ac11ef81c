"""The first visit's notice (app.py shows it before any page): what the app does, what it keeps, and the
EU AI Act, with one button. Accepted once per browser session. Students who arrive by a join link get the
join page's own consent notice instead. Accepted once per browser: a cookie that says only that the notice
was read (no identity) spares a reload or a new tab the notice for a year."""

import streamlit as st

from app_pages.resources import set_cookie, settings

ACCEPTED = "notice_accepted"
CONTINUE = "I understand, continue"
COOKIE, REMEMBERED = "fer_notice_read", "notice_remembered"
YEAR_S = 365 * 24 * 3600


def accepted() -> bool:
    return bool(st.session_state.get(ACCEPTED)) or st.context.cookies.get(COOKIE) == "1"


def remember() -> None:
    """Once per session after the notice was accepted in it: the browser keeps that it was read (set by
    app.py's `write_cookies`, which follows)."""
    if st.session_state.get(ACCEPTED) and not st.session_state.get(REMEMBERED):
        set_cookie(COOKIE, "1", YEAR_S)
        st.session_state[REMEMBERED] = True


def _accept() -> None:
    st.session_state[ACCEPTED] = True


def notice() -> None:
    s = settings()
    st.title("Before you start")
    st.markdown(
        f"""
**What this app does.** It finds the faces in a photo, a recorded video or your webcam's picture and labels
each with one of seven facial expressions (angry, disgust, fear, happy, sad, surprise, neutral), with the
probability of each. A teacher can also follow the overall mood of a class whose students join with their
webcams. It reads **facial expressions, not feelings**, is often wrong, and must never be used to judge a
person.

**Privacy.** Photos, video frames and the face crops cut from them are analysed in the server's memory and
discarded at once: no image is written to disk or to a log. Nothing is stored but a class's aggregate
numbers (per {s.bucket_s}-second step, the number of faces and the share of each expression), with no
image, no per-student row and no identity; a class's mood is never shown for fewer than {s.min_faces}
faces (k-anonymity), and a class's numbers are deleted after {s.retention_days:g} days.

**The law.** Inferring the emotions of people at work or in education institutions is prohibited in the
EU since 2 February 2025 (AI Act, Art. 5(1)(f); medical and safety uses excepted). Check the law where
you use it.

This browser will remember that you read this notice (a cookie that holds nothing else).
"""
    )
    st.button(CONTINUE, type="primary", on_click=_accept)
