# Racik production image: one image, three roles chosen by the command
# (see docker/entrypoint.sh):
#   web      migrate the database, then gunicorn on :8000   (default)
#   worker   RQ worker (python -m jobs.worker)
#   cron     RQ cron scheduler (python -m jobs.cron)
#
#   docker build -t racik .
#   docker compose up -d          # the whole stack, see docker-compose.yml
#
# The first stage, `nginx`, is the reverse proxy of docker-compose.yml: docker/nginx.conf as a
# template and the app's static files, which it serves itself (/static/).

FROM nginx:1.28-alpine AS nginx
COPY docker/nginx.conf /etc/nginx/templates/default.conf.template
COPY app/static /srv/static
# Only HTTPS_PORT is substituted into the template; nginx's own $variables stay as they are.
ENV NGINX_ENVSUBST_FILTER=^HTTPS_PORT$ \
    HTTPS_PORT=443

# The application (the default target: `docker build .` builds this one).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RACIK_ENV=production \
    FLASK_APP=wsgi.py \
    INSTANCE_PATH=/data \
    PORT=8000

# An unprivileged user owns only the instance directory (/data: uploaded and generated
# files, backups); the code stays root-owned and read-only for it.
RUN groupadd --system --gid 10001 racik \
 && useradd --system --uid 10001 --gid racik --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin racik

WORKDIR /app

# The TrueType fonts every PDF embeds (invoices, contracts, reports: app/core/pdf.py);
# rclone copies the backups off the server (app/backups/offsite.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core rclone ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
RUN pybabel compile -d app/translations \
 && chmod 0755 docker/entrypoint.sh \
 && mkdir -p /data /backups \
 && chown racik:racik /data /backups

USER racik
VOLUME ["/data", "/backups"]
EXPOSE 8000

# Only meaningful for `web`; docker-compose.yml disables it for worker and cron.
# /livez: the process answers, touching neither the database nor Redis (a database outage
# must not mark every web container unhealthy; /healthz reports the parts).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
