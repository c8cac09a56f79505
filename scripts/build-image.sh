#!/usr/bin/env bash
# Builds the xcon image (default tag xcon:latest). The base image is BASE_IMAGE if set, else the
# official node:20-bookworm-slim if it is here or can be pulled, else one built from this
# machine's own Node runtime (scripts/build-offline-base-image.sh), for machines with no registry.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${XCON_IMAGE:-xcon:latest}
base=${BASE_IMAGE:-}
if [ -z "$base" ]; then
  if docker image inspect node:20-bookworm-slim >/dev/null 2>&1 || timeout 120 docker pull -q node:20-bookworm-slim >/dev/null 2>&1; then
    base=node:20-bookworm-slim
  else
    echo "no registry: building the base image from this machine's Node runtime" >&2
    docker image inspect xcon-node-base:20 >/dev/null 2>&1 || scripts/build-offline-base-image.sh xcon-node-base:20
    base=xcon-node-base:20
  fi
fi
docker build -q --build-arg BASE_IMAGE="$base" -t "$tag" . >/dev/null
echo "built $tag on $base ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1000000 }'))"
