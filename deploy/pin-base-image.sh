#!/usr/bin/env bash
# Pins deploy/Dockerfile's base image by digest: asks the registry for the digest of the tag's
# multi-platform index and writes it as the default of ARG PYTHON_DIGEST (and the tag as
# PYTHON_IMAGE) into the Dockerfile; commit the change.
#   deploy/pin-base-image.sh [python:3.11-slim]
# Needs docker with buildx and the registry reachable, or DIGEST=sha256:... from wherever you
# resolve images (e.g. `crane digest <tag>` on a machine that reaches the registry).
# Without pinning the default, pass it per build: docker build --build-arg PYTHON_DIGEST=sha256:...
set -euo pipefail
cd "$(dirname "$0")"
tag="${1:-python:3.11-slim}"
digest="${DIGEST:-$(docker buildx imagetools inspect "$tag" --format '{{ .Manifest.Digest }}')}"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "not a digest: $digest" >&2; exit 1; }
sed -i -E -e "s|^ARG PYTHON_IMAGE=.*$|ARG PYTHON_IMAGE=${tag}|" -e "s|^ARG PYTHON_DIGEST=.*$|ARG PYTHON_DIGEST=${digest}|" Dockerfile
grep -n -E '^ARG PYTHON_(IMAGE|DIGEST)=' Dockerfile
