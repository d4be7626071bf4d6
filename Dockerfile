# Production image: one image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg smartmontools xxhash \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput --verbosity 0 || true

RUN useradd --system --uid 1000 reelvault && mkdir -p /app/var && chown reelvault /app/var
USER reelvault
EXPOSE 8000
CMD ["gunicorn", "reelvault.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4"]
