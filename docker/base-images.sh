#!/usr/bin/env bash
# Local stand-ins for the demo's four base images, built from Debian 12 packages, for machines
# that cannot pull from Docker Hub:
#
#   eval "$(docker/base-images.sh)"      # as root, on Debian; prints the four PARLEY_*_IMAGE=...
#   docker-compose -f docker/docker-compose.yml up --build
#
# First a `debootstrap --variant=minbase bookworm` root file system, loaded with `docker import`
# as parley-base/debian; its apt sources are this machine's mirror (/etc/apt/sources.list.d/,
# else /etc/apt/sources.list), or PARLEY_DEBIAN_MIRROR. Then docker/base/Dockerfile installs
# each image's packages on it. Every image is tagged with a hash of what it is made of and built
# only when that tag is missing: later runs cost nothing.
set -euo pipefail
cd "$(dirname "$0")"

SUITE=bookworm
HOST_CAS=/usr/local/share/ca-certificates
DEBS=${PARLEY_DEBOOTSTRAP_CACHE:-/var/cache/parley-debootstrap}

log() { echo "base-images: $*" >&2; }
size() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%d MB", $1 / 1e6}'; }

mirror() {
  if [ -n "${PARLEY_DEBIAN_MIRROR:-}" ]; then echo "$PARLEY_DEBIAN_MIRROR"; return; fi
  local found
  # deb822 .sources files: the URIs of the stanza whose Suites name bookworm.
  found=$(awk -v suite="$SUITE" '
      /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) print uri }
      /^$/ { uri = "" }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  # One-line .list files: deb [options] URI bookworm components.
  [ -n "$found" ] || found=$(sed -E 's/\[[^]]*\]//' /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null \
      | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }')
  echo "${found:-http://deb.debian.org/debian}"
}

# Scratch space (a root file system, a build context), removed on exit whatever happens.
scratch=$(mktemp -d /var/tmp/parley-base.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# Sets DEBIAN to the tag of the bookworm minbase image, building it when missing.
debian_image() {
  DEBIAN=parley-base/debian:$( { echo "$SUITE"; declare -f debian_image; } | sha256sum | cut -c1-12)
  if docker image inspect "$DEBIAN" >/dev/null 2>&1; then
    log "$DEBIAN present"
    return
  fi
  log "building $DEBIAN (debootstrap --variant=minbase $SUITE $(mirror))"
  local started=$SECONDS rootfs=$scratch/rootfs
  mkdir -p "$DEBS"
  if ! debootstrap --variant=minbase --cache-dir="$DEBS" "$SUITE" "$rootfs" "$(mirror)" >"$scratch/debootstrap.log" 2>&1; then
    tail -n 20 "$scratch/debootstrap.log" >&2
    return 1
  fi
  # As in Debian's own images: packages installed in a container start no services.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  tar -C "$rootfs" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - "$DEBIAN" >/dev/null
  rm -rf "$rootfs"
  log "built $DEBIAN in $((SECONDS - started)) s ($(size "$DEBIAN"))"
}

command -v debootstrap >/dev/null || { log "needs debootstrap (apt-get install debootstrap)"; exit 1; }
debian_image

# The build context of docker/base/Dockerfile; its hash, with the minbase's, tags the images.
context=$scratch/context
mkdir -p "$context/ca-certificates"
cp -p base/Dockerfile base/postgres-entrypoint.sh "$context/"
if compgen -G "$HOST_CAS/*.crt" >/dev/null; then cp "$HOST_CAS"/*.crt "$context/ca-certificates/"; fi
hash=$( { echo "$DEBIAN"; cd "$context" && find . -type f | sort | xargs sha256sum; } | sha256sum | cut -c1-12)

for role in build runtime nginx postgres; do
  tag=parley-base/$role:$hash
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "$tag present"
  else
    log "building $tag (docker/base/Dockerfile, target $role)"
    started=$SECONDS
    if ! docker build --build-arg "DEBIAN=$DEBIAN" --target "$role" -t "$tag" "$context" >"$scratch/$role.log" 2>&1; then
      tail -n 20 "$scratch/$role.log" >&2
      exit 1
    fi
    log "built $tag in $((SECONDS - started)) s ($(size "$tag"))"
  fi
  echo "export PARLEY_$(echo "$role" | tr a-z A-Z)_IMAGE=$tag"
done
