# The app in a container, with the runtime dependencies only (requirements.txt: LiteRT, no TensorFlow).
#   docker build -t fer .
#   docker run --rm -p 8501:8501 -v fer-data:/home/fer/.fer fer     # then open http://localhost:8501
# Settings come from the environment (-e FER_ICE_SERVERS=..., -e FER_DATABASE_URL=...): README, "Deploy".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MALLOC_ARENA_MAX=2

WORKDIR /app

# System packages from packages.txt (one name per line, as Streamlit Community Cloud reads it); it is
# empty today, and then nothing is installed and no apt list is left in the image.
COPY packages.txt .
RUN packages="$(grep -v '^[[:space:]]*#' packages.txt | tr -s '[:space:]' ' ')"; \
    if [ -n "${packages# }" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends $packages \
      && rm -rf /var/lib/apt/lists/*; \
    fi

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The app, owned by root and read-only to the user that runs it; class sessions (SQLite) go to the
# user's home, ~/.fer, unless FER_DATABASE_URL names a database.
COPY . .
RUN useradd --create-home --uid 10001 fer
USER fer
# Created by the user, so that a volume mounted here (-v fer-data:/home/fer/.fer) starts out writable.
RUN mkdir -p /home/fer/.fer

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "serve.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true"]
