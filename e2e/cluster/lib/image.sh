# shellcheck shell=bash
# Images without Docker and without a registry: umoci writes OCI layouts, `ctr images import`
# loads them into containerd's k8s.io namespace, pods use them with imagePullPolicy: Never.
#
#   localhost/pause:zdt       the sandbox image (containerd's sandbox_image)
#   localhost/jre:17          Debian bookworm minbase + openjdk-17-jre-headless + wget (GNU: exec-mode
#                             preStop hooks call the gate with it; Debian's busybox wget crashes on -T)
#   localhost/demo-app:dev    jre + /app/demo-app.jar + /app/grpc/ (the gRPC server stream, off
#                             unless GRPC_PORT is set: e2e/grpc-stream)
#   localhost/demo-app-noshell:dev  the same without sh, dash, bash, wget, perl
#   localhost/busybox:zdt     a static busybox, for probes from inside a pod
#   localhost/zdt-drain:<tag> the static preStop helper (src/main/go/zdt-drain), alone; <tag> is
#                             a hash of its sources (drain_helper_tag), so a changed helper gets
#                             a new reference and an old image can never stand in for it
#
# Layouts and tars live in $ZDT_CACHE/images. The JRE base layout is built once (debootstrap,
# about a minute) and reused: an app image only adds one layer on top of it.

JRE_BASE_KEY=bookworm-openjdk17-wget-3    # bump to force a rebuild of the base everywhere
JRE_BASE=$IMAGES/jre-base-$JRE_BASE_KEY
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

containerd_up() { is_running containerd && ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; }

# grep without -q: with pipefail, an early exit of grep could fail the pipeline by SIGPIPE.
image_present() { containerd_up && ctr_k8s images ls -q | grep -xF "$1" >/dev/null; }

# finish_layout <layout dir> <working tag> <full ref> <tar>: gives the image its full
# reference as the only tag (a short tag would import as "import-<date>:tag") and tars it.
finish_layout() {
  local layout=$1 tag=$2 ref=$3 tar=$4
  umoci tag --image "$layout:$tag" "$ref"
  umoci rm --image "$layout:$tag"
  umoci gc --layout "$layout"
  tar -C "$layout" -cf "$tar.tmp" oci-layout index.json blobs
  mv -f "$tar.tmp" "$tar"
}

# import_tar <tar> <ref>: into containerd now if it runs, else at the next `up`. IMAGE_NO_IMPORT=1:
# not at all (e2e/operator/push.sh pushes the tar to a registry, and containerd pulls it from there).
import_tar() {
  local tar=$1 ref=$2
  if [[ ${IMAGE_NO_IMPORT:-} == 1 ]]; then
    say "$ref: written to $tar, not imported (IMAGE_NO_IMPORT=1)"
  elif containerd_up; then
    ctr_k8s images import "$tar" >/dev/null
    rm -f "$IMAGES/pending/${ref//\//_}"
    say "imported $ref into containerd (k8s.io)"
  else
    mkdir -p "$IMAGES/pending"
    echo "$tar $ref" >"$IMAGES/pending/${ref//\//_}"
    say "containerd is not running: $ref will be imported by the next 'zdt-cluster up'"
  fi
}

import_pending() {
  local f tar ref
  for f in "$IMAGES"/pending/*; do
    [[ -f $f ]] || continue
    read -r tar ref <"$f"
    [[ -f $tar ]] && import_tar "$tar" "$ref"
  done
}

build_pause() {
  local work=$IMAGES/pause-build ref=localhost/pause:zdt
  rm -rf "$work"; mkdir -p "$work"
  (cd "$ZDT_CLUSTER_DIR/images/pause" &&
   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/pause" .)
  umoci init --layout "$work/layout"
  umoci new --image "$work/layout:build"
  umoci insert --image "$work/layout:build" "$work/pause" /pause
  umoci config --image "$work/layout:build" --config.entrypoint /pause --config.user 65535:65535 \
    --author zdt-e2e
  finish_layout "$work/layout" build "$ref" "$IMAGES/pause.tar"
  rm -rf "$work"
  import_tar "$IMAGES/pause.tar" "$ref"
}

# The drain helper's sources, relative to this script's e2e/cluster directory.
DRAIN_SRC=$(cd "$ZDT_CLUSTER_DIR/../.." && pwd)/src/main/go/zdt-drain

# drain_helper_tag: the first 12 hex digits of a sha256 over the helper's non-test sources:
# go.mod and every *.go except *_test.go, sorted by path (C locale), listed as sha256sum prints
# them ("<sha256>  <path>"), and that list hashed. Tests, the README and the build flags are
# not in it: changing them does not change the binary's behaviour.
drain_helper_tag() {
  [[ -f $DRAIN_SRC/go.mod ]] || die "no drain helper sources at $DRAIN_SRC"
  local sum
  sum=$(cd "$DRAIN_SRC" &&
        { echo go.mod; find . -name '*.go' ! -name '*_test.go' -printf '%P\n'; } |
        LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum) || die "cannot hash $DRAIN_SRC"
  echo "${sum:0:12}"
}

drain_helper_ref() { echo "localhost/zdt-drain:$(drain_helper_tag)"; }

# The helper image holds only /zdt-drain (static, stripped, its version = the tag), runs as
# 65532:65532, and is cached as $IMAGES/zdt-drain-<tag>.tar: the same sources are built once.
build_zdt_drain() {
  local tag ref tar work
  tag=$(drain_helper_tag)
  ref=localhost/zdt-drain:$tag
  tar=$IMAGES/zdt-drain-$tag.tar
  if [[ -f $tar ]]; then
    say "$ref: already built ($tar)"
  else
    work=$IMAGES/zdt-drain-build
    rm -rf "$work"; mkdir -p "$work"
    (cd "$DRAIN_SRC" &&
     CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$tag" -o "$work/zdt-drain" .) ||
      die "go build of the drain helper failed"
    umoci init --layout "$work/layout"
    umoci new --image "$work/layout:build"
    umoci insert --image "$work/layout:build" "$work/zdt-drain" /zdt-drain
    umoci config --image "$work/layout:build" --config.entrypoint /zdt-drain --config.user 65532:65532 \
      --author zdt-e2e
    finish_layout "$work/layout" build "$ref" "$tar"
    rm -rf "$work"
    # Only the current sources' image is used: drop older tars and their pending imports.
    find "$IMAGES" -maxdepth 1 -name 'zdt-drain-*.tar' ! -name "zdt-drain-$tag.tar" -delete
    find "$IMAGES/pending" -maxdepth 1 -name 'localhost_zdt-drain:*' ! -name "localhost_zdt-drain:$tag" \
      -delete 2>/dev/null || true
    say "built $ref ($(stat -c %s "$tar") bytes)"
  fi
  if [[ ${IMAGE_NO_IMPORT:-} != 1 ]] && image_present "$ref"; then
    say "$ref: already in containerd"
  else
    import_tar "$tar" "$ref"
  fi
}

# A static busybox (Debian's busybox-static) as a pod-side probe: wget, nc, nslookup.
build_busybox() {
  local work=$IMAGES/busybox-build ref=localhost/busybox:zdt
  rm -rf "$work"; mkdir -p "$work/bin"
  cp /bin/busybox "$work/bin/busybox"
  umoci init --layout "$work/layout"
  umoci new --image "$work/layout:build"
  umoci insert --image "$work/layout:build" "$work/bin" /bin
  umoci config --image "$work/layout:build" --author zdt-e2e --config.entrypoint /bin/busybox \
    --config.cmd sh --config.env PATH=/bin
  finish_layout "$work/layout" build "$ref" "$IMAGES/busybox.tar"
  rm -rf "$work"
  import_tar "$IMAGES/busybox.tar" "$ref"
}

# The JRE base rootfs: a Debian minbase with the JRE, trimmed of package caches and docs.
build_jre_base() {
  [[ -f $JRE_BASE/layout/index.json ]] && return 0
  local work=$IMAGES/build-jre-base t0
  t0=$(now_ms)
  rm -rf "$work"; mkdir -p "$work"
  say "building the JRE base image with debootstrap (bookworm minbase + openjdk-17-jre-headless + wget)"
  debootstrap --variant=minbase --include=openjdk-17-jre-headless,wget \
    bookworm "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  # The runtime mounts /dev, /proc, /sys; package caches, docs and locales are dead weight.
  rm -rf "$work"/rootfs/dev/* "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/* \
    "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/locale/* \
    "$work"/rootfs/usr/share/info/* "$work"/rootfs/var/log/*.log "$work"/rootfs/var/cache/debconf/*-old
  chroot "$work/rootfs" /bin/sh -c 'useradd --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin app' ||
    warn "could not add the 'app' user to the base image"
  mkdir -p "$work/rootfs/app"
  chown 10001:10001 "$work/rootfs/app"
  umoci init --layout "$work/layout"
  umoci new --image "$work/layout:base"
  umoci insert --image "$work/layout:base" "$work/rootfs" /
  umoci config --image "$work/layout:base" --author zdt-e2e \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    --config.env LANG=C.UTF-8 \
    --config.workingdir /app --config.cmd java --config.cmd -version
  rm -rf "$IMAGES"/jre-base-*; mkdir -p "$JRE_BASE"   # older bases too: only one is used
  mv "$work/layout" "$JRE_BASE/layout"
  rm -rf "$work"
  say "JRE base built in $(elapsed "$t0") ($(du -sh "$JRE_BASE/layout" | cut -f1) compressed)"
}

build_jre() {
  build_jre_base
  local work=$IMAGES/jre-build
  copy_base_layout "$work"
  finish_layout "$work" base localhost/jre:17 "$IMAGES/jre.tar"
  rm -rf "$work"
  import_tar "$IMAGES/jre.tar" localhost/jre:17
}

# The base layout's blobs are immutable (content-addressed), so hard links are a safe copy.
copy_base_layout() {
  local dst=$1
  rm -rf "$dst"; mkdir -p "$dst"
  cp -al "$JRE_BASE/layout/blobs" "$dst/blobs"
  cp "$JRE_BASE/layout/index.json" "$JRE_BASE/layout/oci-layout" "$dst/"
}

# image_from_dir <ref> <source dir> <destination in image> <entrypoint...>
#   Puts the content of <source dir> at <destination> (owned by uid 10001, the base's 'app'
#   user) on top of the JRE base, sets the entrypoint (exec form, one argument per word),
#   the working directory to <destination> and the user to 10001, writes
#   $ZDT_CACHE/images/<name>.tar and imports it as <ref> (e.g. localhost/zdt-operator:dev).
#   Extra environment: IMAGE_ENV="K=V K2=V2" adds env entries; IMAGE_WHITEOUT="/p1 /p2" removes
#   those paths of the base (a whiteout layer each).
image_from_dir() {
  (($# >= 4)) || die "usage: image-from-dir <ref> <source dir> <destination> <entrypoint...>"
  local ref=$1 src=$2 dest=$3; shift 3
  [[ $ref == */*:* ]] || die "use a full reference like localhost/name:tag (got '$ref')"
  [[ -d $src ]] || die "no such directory: $src"
  local name=${ref##*/}; name=${name%%:*}
  local work=$IMAGES/$name-build stage t0 e args=()
  t0=$(now_ms)
  build_jre_base
  copy_base_layout "$work"
  # Stage a copy so ownership can be set without touching the caller's files.
  stage=$(mktemp -d "$IMAGES/.stage.XXXXXX")
  cp -a "$src/." "$stage/"
  chown -R 10001:10001 "$stage"
  umoci insert --image "$work:base" "$stage" "$dest"
  rm -rf "$stage"
  for e in ${IMAGE_WHITEOUT:-}; do umoci insert --image "$work:base" --whiteout "$e"; done
  for e in "$@"; do args+=(--config.entrypoint "$e"); done
  for e in ${IMAGE_ENV:-}; do args+=(--config.env "$e"); done
  umoci config --image "$work:base" --author zdt-e2e --config.workingdir "$dest" \
    --config.user 10001:10001 --clear config.cmd "${args[@]}"
  finish_layout "$work" base "$ref" "$IMAGES/$name.tar"
  rm -rf "$work"
  import_tar "$IMAGES/$name.tar" "$ref"
  say "image $ref ready in $(elapsed "$t0")"
}

# build_demo_app [ref]: the demo app on the JRE base, as localhost/demo-app:dev unless named: its jar
# and the gRPC module's jars (/app/grpc/, fetched by the Maven wrapper once), laid out by
# e2e/grpc-stream/stage.sh as its test.sh runs them. The gRPC server starts only with GRPC_PORT set.
build_demo_app() {
  local ref=${1:-localhost/demo-app:dev} stage
  stage=$(mktemp -d)
  # The builds are incremental: they return at once when the jars are newer than the sources.
  "$ZDT_CLUSTER_DIR/../grpc-stream/stage.sh" "$stage" || { rm -rf "$stage"; die "e2e/grpc-stream/stage.sh failed"; }
  # Exec form, no shell: java expands the class path's /app/grpc/* itself.
  image_from_dir "$ref" "$stage" /app java -cp '/app/demo-app.jar:/app/grpc/*' dev.zdt.demo.DemoApp
  rm -rf "$stage"
}

# The demo app in an image with no shell and no HTTP client (no sh, dash, bash, wget, perl): only a
# preStop that needs none of them, the static drain helper, can drain it.
NOSHELL_PATHS="/usr/bin/sh /usr/bin/dash /usr/bin/bash /usr/bin/rbash /usr/bin/wget /usr/bin/perl"
build_demo_app_noshell() {
  IMAGE_WHITEOUT=$NOSHELL_PATHS build_demo_app localhost/demo-app-noshell:dev
}

# ensure_image <name>: build it unless containerd already has it.
ensure_image() {
  local ref
  case $1 in
    pause) ref=localhost/pause:zdt ;;
    jre) ref=localhost/jre:17 ;;
    demo-app) ref=localhost/demo-app:dev ;;
    demo-app-noshell) ref=localhost/demo-app-noshell:dev ;;
    busybox) ref=localhost/busybox:zdt ;;
    zdt-drain) ref=$(drain_helper_ref) ;;
  esac
  import_pending
  # Images on the JRE base are rebuilt when the base changed (a new JRE_BASE_KEY has no layout yet),
  # or an old image would keep an old base's contents.
  if [[ $1 == jre || $1 == demo-app* ]] && [[ ! -f $JRE_BASE/layout/index.json ]]; then
    cmd_image "$1"
    return
  fi
  image_present "$ref" || cmd_image "$1"
}

cmd_image() {
  need_root
  command -v umoci >/dev/null && command -v debootstrap >/dev/null || cmd_deps
  mkdir -p "$IMAGES"
  case ${1:-} in
    pause) build_pause ;;
    jre) build_jre ;;
    demo-app) build_demo_app ;;
    demo-app-noshell) build_demo_app_noshell ;;
    busybox) build_busybox ;;
    # The reference is the last line on stdout, for scripts: ref=$(zdt-cluster image zdt-drain | tail -n1)
    zdt-drain) build_zdt_drain >&2; drain_helper_ref ;;
    *) die "usage: zdt-cluster image pause|jre|demo-app|demo-app-noshell|busybox|zdt-drain" ;;
  esac
}

# zdt-cluster drain-helper-ref: the helper image's reference for the current sources, without
# building anything (the operator's install script passes it to helm).
cmd_drain_helper_ref() { drain_helper_ref; }

cmd_image_from_dir() {
  need_root
  command -v umoci >/dev/null && command -v debootstrap >/dev/null || cmd_deps
  mkdir -p "$IMAGES"
  image_from_dir "$@"
}
