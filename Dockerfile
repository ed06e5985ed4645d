# nbaprops: the scheduler daemon (default command), and the image compose.yaml also runs the
# MLflow tracking server and the optional Dask scheduler/workers from, so client and server
# versions always match. Build: docker build -t nbaprops:local .   (see docs/operations.md)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# tini: PID 1 that forwards SIGTERM to the daemon (which then gives a running job its stop
# deadline) and reaps zombies. libgomp1: the OpenMP runtime XGBoost and LightGBM link against.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/nbaprops

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
ARG NBAPROPS_EXTRAS="postgres,dask"
COPY pyproject.toml ./
RUN python -c "import sys, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; extras = [e for e in sys.argv[1].split(',') if e]; print('\n'.join(p['dependencies'] + [d for e in extras for d in p['optional-dependencies'][e]]))" "$NBAPROPS_EXTRAS" > requirements.txt \
    && pip install --no-cache-dir -r requirements.txt

# Then the project itself, without touching the dependency layer.
COPY README.md ./
COPY nbaprops ./nbaprops
COPY governance ./governance
COPY jobs ./jobs
COPY templates ./templates
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build ./*.egg-info

# An unprivileged user owns the state folder and the tracking server's artifact folder.
RUN groupadd --system --gid 10001 nbaprops \
    && useradd --system --uid 10001 --gid nbaprops --home-dir /var/lib/nbaprops \
        --shell /usr/sbin/nologin nbaprops \
    && mkdir -p /var/lib/nbaprops /mlartifacts \
    && chown nbaprops:nbaprops /var/lib/nbaprops /mlartifacts

ENV NBAPROPS_HOME=/var/lib/nbaprops \
    MLFLOW_LOGGING_LEVEL=WARNING
VOLUME ["/var/lib/nbaprops"]
WORKDIR /var/lib/nbaprops
USER 10001:10001

# Healthy while the daemon's heartbeat is fresh (exit 0), unhealthy when it is stale or absent.
HEALTHCHECK --interval=60s --timeout=20s --start-period=120s --retries=3 \
    CMD ["nbaprops", "status", "--check"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["nbaprops", "scheduler", "start"]
