# StoryCanvas: one process serving the web app, the REST API and the scheduler.
#
#   docker build -t storycanvas .
#   docker run -p 8080:8080 -v storycanvas-data:/data -e STORYCANVAS_SECRET_KEY=... storycanvas
#
# Without DATABASE_URL it runs on SQLite inside /data; compose.yaml adds PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# An unprivileged user that owns the data folder; an empty named volume mounted on /data takes over
# this ownership the first time, so the app can write there.
RUN useradd --create-home --uid 1000 --user-group --shell /usr/sbin/nologin storycanvas \
    && mkdir -p /data \
    && chown storycanvas:storycanvas /data

WORKDIR /build

# Dependencies first, in their own layer, read straight from pyproject.toml (tomllib is in 3.11's
# standard library): editing the code does not reinstall them, only changing the dependency list does.
# Every dependency ships manylinux wheels (psycopg[binary] brings its own libpq), so no compiler is needed.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install --no-cache-dir -r requirements.txt

# The project itself, non-editable: migrations and .css/.js/.vue files come along as package data.
# The build folder is removed afterwards so nothing at run time imports the source copy instead.
COPY . .
RUN pip install --no-cache-dir . \
    && cd / && rm -rf /build

# Everything at run time (SQLite database, media, NiceGUI storage, generated secret key) lives in /data.
ENV STORYCANVAS_DATA_DIR=/data
VOLUME ["/data"]

USER storycanvas
WORKDIR /home/storycanvas

EXPOSE 8080

# slim has no curl: ask /healthz with Python's urllib (a refused connection or an error status raises, exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

CMD ["storycanvas", "serve", "--host", "0.0.0.0", "--port", "8080"]
