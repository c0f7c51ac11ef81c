"""fer: facial emotion recognition in the browser. `streamlit run app.py` (or `make run`)."""

import streamlit as st

st.set_page_config(page_title="fer: facial emotion recognition", page_icon=":material/mood:", layout="wide")

join = st.Page("app_pages/join.py", title="Join a class", icon=":material/login:", url_path="join")
about = st.Page("app_pages/about.py", title="About & limits", icon=":material/info:")
if "room" in st.query_params and "key" not in st.query_params:
    # A student's join link: the student pages only, never the teacher's or the other tools.
    pages = [join, about]
else:
    pages = [
        st.Page("app_pages/upload.py", title="Photo", icon=":material/photo:", default=True),
        st.Page("app_pages/live.py", title="Live camera", icon=":material/videocam:"),
        st.Page("app_pages/class_mood.py", title="Class mood", icon=":material/groups:", url_path="class"),
        join,
        about,
    ]
st.navigation(pages).run()
