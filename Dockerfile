# syntax=docker/dockerfile:1
# The moodwatch image: one entry point (`moodwatch`) for migrate, worker, dashboard and produce.
# torch from PyPI brings its CUDA libraries; the host needs only the NVIDIA driver and the
# NVIDIA Container Toolkit for the worker's GPU reservation.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject.toml alone: a code change does not reinstall torch.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install -r requirements.txt
COPY README.md ./
# Local-services tooling (devstack/) stays out: compose runs Kafka, PostgreSQL and Redis.
COPY schemas ./schemas
COPY model ./model
COPY worker ./worker
COPY producer ./producer
COPY training ./training
COPY dashboard ./dashboard
COPY sentinel ./sentinel
COPY cli ./cli
RUN pip install --no-deps . && moodwatch --help > /dev/null

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface
RUN groupadd --system --gid 10001 moodwatch \
 && useradd --system --uid 10001 --gid moodwatch --create-home --home-dir /home/moodwatch moodwatch
COPY --from=build /opt/venv /opt/venv
USER moodwatch
WORKDIR /home/moodwatch
# 8501: dashboard; 9108: worker metrics (published by neither: see docker-compose.yml).
EXPOSE 8501 9108
ENTRYPOINT ["moodwatch"]
CMD ["--help"]
