"""About: what the model does, how well, and what its numbers can and cannot mean."""

import re
from pathlib import Path

import streamlit as st

st.title("About fer")
st.markdown(
    """
**fer** finds faces in a picture or a video and labels each with one of seven facial expressions
(angry, disgust, fear, happy, sad, surprise, neutral: the classes of the FER2013 dataset).

### What the numbers mean, and what they don't
- The model reads **facial expressions, not feelings**. People do not reliably show what they feel on
  their faces, and the same expression means different things in different contexts and cultures
  (Barrett et al., *Emotional Expressions Reconsidered*, 2019).
- It was trained on FER2013: 28,709 small, grey, web-scraped faces whose labels are themselves noisy
  (human agreement with them is about 65%). Accuracy is lower for faces that are turned, poorly lit,
  partly covered, very young or very old, and it has not been audited across skin tones.
- Use it for aggregate, consenting, low-stakes purposes (research, UX studies, a class's overall mood),
  **never** to make decisions about an individual.
- Inferring the emotions of people at work or in education institutions is prohibited in the EU since
  2 February 2025 (AI Act, Art. 5(1)(f); medical and safety uses excepted). Check the law where you deploy.

### Class mood
- A class's mood is a share of **expressions** among the faces in view, not what the students feel or
  learn: a focused face often reads as "neutral", "sad" or "angry". Treat it as a hint to check in with
  the room, never as a measure of a student or of teaching.
- It is aggregate-only by design: the dashboard shows a distribution only from 3 faces on (configurable),
  and only per-bucket counts and mean probabilities are stored, with no images and no per-student rows.
- Emotion inference on students in education institutions is prohibited in the EU since 2 February 2025
  (AI Act Art. 5(1)(f)), medical and safety uses excepted: a deployer must check that its use is lawful.

### Privacy
Photos and camera frames are processed in memory and never written to disk or logs. Class sessions keep
only numbers, and are deleted after their retention period (7 days unless configured otherwise).
"""
)
card = Path(__file__).resolve().parent.parent / "models" / "MODEL_CARD.md"
if card.is_file():
    with st.expander("Model card: how the model was trained and how well it does"):
        # The card's figures are files beside it: shown as images, between the card's text around them.
        for i, part in enumerate(re.split(r"!\[([^\]]*)\]\(([^)\s]+)\)", card.read_text())):
            if i % 3 == 0:  # a link to another file of models/ would be a dead link here: name it instead
                st.markdown(re.sub(r"\[([^\]]*)\]\(([\w.-]+\.md)\)", r"`models/\2` in the repository", part))
            elif i % 3 == 2 and (card.parent / part).is_file():
                st.image(str(card.parent / part), width=520)
