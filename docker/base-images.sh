#!/usr/bin/env bash
# Local stand-ins for the demo's four base images, built from Debian 12 packages, for machines
# that cannot pull from Docker Hub:
#
#   eval "$(docker/base-images.sh)"      # as root, on Debian; prints the four PARLEY_*_IMAGE=...
#   docker-compose -f docker/docker-compose.yml up --build
#
# Each image is a `debootstrap --variant=minbase bookworm` root file system with a few packages,
# loaded with `docker import`. It is tagged parley-base/ROLE:HASH, the hash covering the package
# list and every file put into it, and built only when that tag is missing: later runs cost
# nothing. The apt mirror is the one this machine uses (/etc/apt/sources.list.d/, else
# /etc/apt/sources.list), or PARLEY_DEBIAN_MIRROR.
#
# The build image also trusts the certificates in /usr/local/share/ca-certificates/, as the host
# does: where a proxy intercepts TLS, Maven in the build stage then reaches Maven Central too.
set -euo pipefail
cd "$(dirname "$0")"

SUITE=bookworm
PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
HOST_CAS=/usr/local/share/ca-certificates
DEBS=${PARLEY_DEBOOTSTRAP_CACHE:-/var/cache/parley-debootstrap}

log() { echo "base-images: $*" >&2; }

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

# A root file system being built; removed on exit, whatever happens.
rootfs=
cleanup() {
  [ -n "$rootfs" ] || return 0
  if mountpoint -q "$rootfs/proc"; then umount "$rootfs/proc"; fi
  rm -rf "$rootfs" "$rootfs.log"
}
trap cleanup EXIT

# build_image ROLE "PACKAGES" [docker import --change ...]: sets TAG to the image's tag.
build_image() {
  local role=$1 packages=$2 hash tag
  shift 2
  hash=$( {
    echo "$SUITE $packages $*"
    declare -f build_image
    [ "$role" != postgres ] || cat base/postgres-entrypoint.sh
    [ "$role" != build ] || cat "$HOST_CAS"/*.crt 2>/dev/null || true
  } | sha256sum | cut -c1-12)
  tag=parley-base/$role:$hash
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "$tag present"
    TAG=$tag
    return
  fi
  log "building $tag (debootstrap $SUITE: $packages)"
  local started=$SECONDS
  rootfs=$(mktemp -d /var/tmp/parley-rootfs.XXXXXX)
  mkdir -p "$DEBS"
  if ! debootstrap --variant=minbase --cache-dir="$DEBS" --include="$packages" \
      "$SUITE" "$rootfs" "$(mirror)" >"$rootfs.log" 2>&1; then
    tail -n 20 "$rootfs.log" >&2
    return 1
  fi
  case $role in
    build)
      if compgen -G "$HOST_CAS/*.crt" >/dev/null; then
        cp "$HOST_CAS"/*.crt "$rootfs$HOST_CAS/"
        # Java's trust store is rebuilt too, and java needs /proc for that.
        mount -t proc proc "$rootfs/proc"
        chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
        umount "$rootfs/proc"
      fi
      ;;
    postgres)
      install -m 755 base/postgres-entrypoint.sh "$rootfs/usr/local/bin/docker-entrypoint.sh"
      # The package's own cluster (15/main); the entrypoint makes one in PGDATA.
      rm -rf "$rootfs"/var/lib/postgresql/15 "$rootfs"/etc/postgresql/15
      ;;
  esac
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  local changes=() change
  for change in "ENV $PATH_ENV" "$@"; do changes+=(--change "$change"); done
  tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
  cleanup
  rootfs=
  log "built $tag in $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1 / 1e6}'))"
  TAG=$tag
}

command -v debootstrap >/dev/null || { log "needs debootstrap (apt-get install debootstrap)"; exit 1; }

build_image build openjdk-17-jdk-headless,maven,ca-certificates-java 'CMD ["bash"]'
build=$TAG
build_image runtime openjdk-17-jre-headless,curl,ca-certificates 'CMD ["bash"]'
runtime=$TAG
build_image nginx nginx-light 'EXPOSE 80' 'CMD ["nginx", "-g", "daemon off;"]'
nginx=$TAG
build_image postgres postgresql-15 \
    'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV PGDATA=/var/lib/postgresql/data' 'VOLUME /var/lib/postgresql/data' 'EXPOSE 5432' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["postgres"]'
postgres=$TAG

echo "export PARLEY_BUILD_IMAGE=$build"
echo "export PARLEY_RUNTIME_IMAGE=$runtime"
echo "export PARLEY_NGINX_IMAGE=$nginx"
echo "export PARLEY_POSTGRES_IMAGE=$postgres"
