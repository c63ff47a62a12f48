# The application image: web (gunicorn), Celery worker and beat all run from it.
# Build and run the whole stack with `SECRET_KEY=... docker compose up --build`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIA_ROOT=/data/media

# A home directory of its own: gunicorn puts its control socket under $HOME.
RUN groupadd --system app \
    && useradd --system --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# The lock file alone first, so the dependency layer is rebuilt only when it changes;
# its hashes decide what is installed.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY . .

# collectstatic runs with DEBUG off so that whitenoise's manifest storage writes the
# manifest the running site needs (DEBUG=1 would switch to the plain storage and the
# production pages would fail on the first {% static %}). The key only lets settings
# load for this one command; it is not kept in the image.
RUN python tools/compile_messages.py \
    && SECRET_KEY=build-only-key-for-collectstatic-not-used-at-runtime \
       python manage.py collectstatic --no-input \
    && mkdir -p /data/media \
    && chown app:app /data/media

# The code stays owned by root and read-only for the app; only /data/media (a volume
# in docker-compose.yml, created owned by app from this directory) is writable.
USER app

EXPOSE 8000

CMD ["gunicorn", "cycle2021.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
