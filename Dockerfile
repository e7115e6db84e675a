# syntax=docker/dockerfile:1
# The ml-platform code location: the package with its production extra (Postgres, Redis,
# Kubernetes), served by `dagster code-server`. The same image runs the run and step pods that
# the K8s run launcher and k8s_job_executor start. See deploy/production/README.md.
#
#   docker build -t ml-platform:0.1.0 .
#   docker run --rm -p 4000:4000 -e DAGSTER_CODE_SERVER_HOST=0.0.0.0 ml-platform:0.1.0
#
# The base is pinned to a patch release; pin it by digest in your registry as well
# (`docker buildx imagetools inspect python:3.11.14-slim-bookworm` gives the digest).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ml_platform ./ml_platform
RUN /opt/venv/bin/pip install ".[production]"

FROM ${PYTHON_IMAGE}
# LightGBM needs the OpenMP runtime, which the slim image lacks.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 ml-platform \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin ml-platform \
    && mkdir -p /opt/dagster/dagster_home /var/lib/ml-platform \
    && chown 10001:10001 /opt/dagster/dagster_home /var/lib/ml-platform
COPY --from=build /opt/venv /opt/venv
WORKDIR /opt/ml-platform
COPY feature_repo ./feature_repo
# The package is installed (not a checkout): say where the Feast repository and the data go.
# Storage locations and credentials come from the deployment (ConfigMap and Secrets).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    ML_PLATFORM_FEAST_REPO_DIR=/opt/ml-platform/feature_repo \
    ML_PLATFORM_DATA_DIR=/var/lib/ml-platform \
    DAGSTER_CODE_SERVER_PORT=4000
USER 10001:10001
EXPOSE 4000
# Listens on localhost unless DAGSTER_CODE_SERVER_HOST says otherwise; the Helm chart starts it
# with `-h 0.0.0.0` itself (helm-values.yaml, codeServerArgs).
CMD ["dagster", "code-server", "start", "-m", "ml_platform.definitions"]
