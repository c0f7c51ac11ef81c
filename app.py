"""fer: facial emotion recognition in the browser. `streamlit run app.py` (or `make run`)."""

import streamlit as st

from app_pages import welcome
from app_pages.resources import write_cookies

st.set_page_config(page_title="fer: facial emotion recognition", page_icon=":material/mood:", layout="wide")

join = st.Page("app_pages/join.py", title="Join a class", icon=":material/login:", url_path="join")
about = st.Page("app_pages/about.py", title="About & limits", icon=":material/info:")
student_link = "room" in st.query_params and "key" not in st.query_params
if student_link:
    # A student's join link: the student pages only, never the teacher's or the other tools. The join page
    # must not be the default page: Streamlit serves the default at "/" only, and /join would not be found.
    pages = [st.Page("app_pages/about.py", title="About & limits", icon=":material/info:", default=True), join]
else:
    pages = [
        st.Page("app_pages/upload.py", title="Photo", icon=":material/photo:", default=True),
        st.Page("app_pages/video.py", title="Recorded video", icon=":material/movie:", url_path="video"),
        st.Page("app_pages/live.py", title="Live camera", icon=":material/videocam:"),
        st.Page("app_pages/class_mood.py", title="Class mood", icon=":material/groups:", url_path="class"),
        join,
        about,
    ]
if student_link or welcome.accepted():
    welcome.remember()
    write_cookies()
    st.navigation(pages).run()
else:
    # A first visit: the notice, and nothing else (no menu, no camera, no upload) until it is accepted; the
    # address keeps its page, which runs after "I understand, continue". Join links have their own notice.
    st.navigation(pages, position="hidden")
    welcome.notice()
