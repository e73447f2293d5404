#!/usr/bin/env bash
# Pins deploy/Dockerfile's base image by digest: asks the registry for the digest of the tag's
# multi-platform index and writes PYTHON_BASE=<tag>@sha256:... into the Dockerfile.
#   deploy/pin-base-image.sh [python:3.11-slim]
# Needs docker with buildx (or set DIGEST=sha256:... yourself, e.g. from `crane digest`).
set -euo pipefail
cd "$(dirname "$0")"
tag="${1:-python:3.11-slim}"
digest="${DIGEST:-$(docker buildx imagetools inspect "$tag" --format '{{ .Manifest.Digest }}')}"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "not a digest: $digest" >&2; exit 1; }
sed -i -E "s|^ARG PYTHON_BASE=.*$|ARG PYTHON_BASE=${tag}@${digest}|" Dockerfile
grep -n '^ARG PYTHON_BASE=' Dockerfile
