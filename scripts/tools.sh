#!/usr/bin/env bash
# Installs the project's Go-built and Debian-packaged CLI tools into "$LEDGER_CACHE/bin" and prints
# that directory (one line, on stdout; progress goes to stderr):
#
#   bin="$(scripts/tools.sh grpcurl ghz)" && "$bin/grpcurl" --version
#   tools: grpcurl ghz helm jaeger prometheus promtool shellcheck
#
# Builds come from the Go module proxy with GOPATH/GOCACHE under the cache dir, so a second run (or a
# rebuild after a version bump) reuses downloaded modules and compiled packages. A tool is rebuilt
# only when its pinned version changes (recorded in "$BIN/.<tool>.version").
#
# LEDGER_TOOLS_INSTALLED_ONLY=1 never builds or downloads: a missing tool fails at once, naming the
# command that installs it. Test hooks run with it (scripts/test.sh installs every tool before Jest
# starts), so a first run never spends minutes of a hook's timeout on a Go build.
set -euo pipefail

CACHE="${LEDGER_CACHE:-$HOME/.cache/ledger}"
BIN="$CACHE/bin"
GO="${LEDGER_GO:-/usr/local/go/bin/go}"

# Pinned versions: change here to upgrade. ghz's proxy version list stops at v0.93.0 although newer
# tags resolve fine when asked for explicitly, so never rely on @latest.
GRPCURL_VERSION="v1.9.4"
GHZ_VERSION="v0.121.0"
HELM_VERSION="v3.22.0"
JAEGER_VERSION="v1.76.0"  # the Go module tag of Jaeger v2.13.0 (CHANGELOG: "v1.76.0 / v2.13.0")
JAEGER_V2_VERSION="v2.13.0" # stamped into the binary (`jaeger version`), as upstream's Makefile does

export GOPATH="$CACHE/go"
export GOMODCACHE="$CACHE/go/pkg/mod"
export GOCACHE="$CACHE/go/build"
export GOFLAGS="-mod=mod -buildvcs=false"
# Never let `go` fetch a different toolchain behind our back; a too-old Go should fail loudly.
export GOTOOLCHAIN=local
export CGO_ENABLED=0

log() { echo "tools: $*" >&2; }
die() { echo "tools: ERROR: $*" >&2; exit 1; }

# installed <tool> <version> -> true when $BIN/<tool> exists and was built from <version>
installed() {
  [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]
}

mark() { echo "$2" >"$BIN/.$1.version"; }

# go_install <tool> <package> <version> [ldflags]: `go install pkg@version` into a temp GOBIN,
# then move into place so an interrupted build never leaves a half-written binary under $BIN.
go_install() {
  local tool=$1 pkg=$2 version=$3 ldflags="-s -w ${4:-}" tmp
  installed "$tool" "$version" && return 0
  [ -x "$GO" ] || die "Go not found at $GO (set LEDGER_GO)"
  log "building $tool $version (first time only)..."
  tmp=$(mktemp -d "$CACHE/tmp/$tool.XXXXXX")
  # `go install pkg@version` ignores the surrounding module and rejects -mod=... in GOFLAGS.
  GOBIN="$tmp" GOFLAGS="-buildvcs=false" "$GO" install -trimpath -ldflags="$ldflags" "$pkg@$version"
  mv -f "$tmp/$tool" "$BIN/$tool"
  rm -rf "$tmp"
  mark "$tool" "$version"
}

# Helm's Makefile stamps its version and the Kubernetes version it assumes (derived from its
# k8s.io/client-go: v0.N -> 1.N); a bare `go install` leaves the latter at 1.20, which breaks
# `helm lint`/`helm template` of charts with kubeVersion constraints.
helm_ldflags() {
  local dir minor
  dir=$(GOFLAGS="" "$GO" mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -nE 's/^\t"Dir": "(.*)",?$/\1/p')
  minor=$(sed -nE 's#^\s*k8s.io/client-go v0\.([0-9]+)\..*#\1#p' "$dir/go.mod")
  [ -n "$minor" ] || die "cannot find k8s.io/client-go in helm's go.mod"
  echo "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
    "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
}

# Jaeger's go.mod carries a replace directive, which `go install pkg@version` refuses; build it
# from a throwaway wrapper module that depends on it as a tool instead.
install_jaeger() {
  local version=$JAEGER_VERSION dir="$CACHE/src/jaeger-wrapper-$JAEGER_VERSION"
  local ldflags="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_V2_VERSION"
  installed jaeger "$version" && return 0
  [ -x "$GO" ] || die "Go not found at $GO (set LEDGER_GO)"
  log "building jaeger (v2, module $version) - this takes a few minutes the first time..."
  mkdir -p "$dir"
  if [ ! -f "$dir/go.mod" ]; then
    (cd "$dir" && "$GO" mod init local/jaeger >/dev/null 2>&1)
  fi
  (cd "$dir" && "$GO" get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$version" \
    && "$GO" build -trimpath -ldflags="$ldflags" -o "$BIN/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
  mv -f "$BIN/jaeger.tmp" "$BIN/jaeger"
  mark jaeger "$version"
}

# Prometheus and promtool come from Debian's package, unpacked (never installed: installing it
# would start a system service on :9090).
install_prometheus() {
  local version dir deb tmp
  if [ -x "$BIN/prometheus" ] && [ -x "$BIN/promtool" ]; then return 0; fi
  command -v apt-get >/dev/null || die "apt-get not found: cannot fetch the prometheus package"
  tmp=$(mktemp -d "$CACHE/tmp/prometheus.XXXXXX")
  log "fetching Debian package prometheus (first time only)..."
  if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
    apt-get update -qq >/dev/null
    (cd "$tmp" && apt-get download prometheus >/dev/null)
  fi
  deb=$(ls "$tmp"/prometheus_*.deb)
  version=$(dpkg-deb -f "$deb" Version)
  dir="$CACHE/prometheus-$version"
  rm -rf "$dir" && dpkg -x "$deb" "$dir"
  rm -rf "$tmp"
  # Symlinks keep the versioned tree (with its console templates) intact.
  ln -sfn "$dir/usr/bin/prometheus" "$BIN/prometheus"
  ln -sfn "$dir/usr/bin/promtool" "$BIN/promtool"
}

# shellcheck comes from Debian's package too, unpacked the same way (a static-ish binary that needs
# only libc, libffi and libgmp, which every Debian machine of this kind has).
install_shellcheck() {
  local version dir deb tmp
  [ -x "$BIN/shellcheck" ] && return 0
  command -v apt-get >/dev/null || die "apt-get not found: cannot fetch the shellcheck package"
  tmp=$(mktemp -d "$CACHE/tmp/shellcheck.XXXXXX")
  log "fetching Debian package shellcheck (first time only)..."
  if ! (cd "$tmp" && apt-get download shellcheck >/dev/null 2>&1); then
    apt-get update -qq >/dev/null
    (cd "$tmp" && apt-get download shellcheck >/dev/null)
  fi
  deb=$(ls "$tmp"/shellcheck_*.deb)
  version=$(dpkg-deb -f "$deb" Version)
  dir="$CACHE/shellcheck-$version"
  rm -rf "$dir" && dpkg -x "$deb" "$dir"
  rm -rf "$tmp"
  ln -sfn "$dir/usr/bin/shellcheck" "$BIN/shellcheck"
}

# require_installed <tool>: the LEDGER_TOOLS_INSTALLED_ONLY check.
require_installed() {
  local tool=$1 version
  case "$tool" in
    grpcurl) version=$GRPCURL_VERSION ;;
    ghz) version=$GHZ_VERSION ;;
    helm) version=$HELM_VERSION ;;
    jaeger) version=$JAEGER_VERSION ;;
    prometheus | promtool | shellcheck) [ -x "$BIN/$tool" ] && return 0 ;;
    *) die "unknown tool '$tool' (known: grpcurl ghz helm jaeger prometheus promtool shellcheck)" ;;
  esac
  [ -n "${version:-}" ] && installed "$tool" "$version" && return 0
  die "$tool is not installed in $BIN: run 'bash scripts/tools.sh $tool' first (npm test does it before the tests start)"
}

install_one() {
  if [ "${LEDGER_TOOLS_INSTALLED_ONLY:-0}" = 1 ]; then
    require_installed "$1"
    return 0
  fi
  case "$1" in
    grpcurl) go_install grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION" \
      "-X main.version=$GRPCURL_VERSION" ;;
    ghz) go_install ghz github.com/bojand/ghz/cmd/ghz "$GHZ_VERSION" "-X main.version=$GHZ_VERSION" ;;
    helm) installed helm "$HELM_VERSION" || go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "$(helm_ldflags)" ;;
    jaeger) install_jaeger ;;
    prometheus | promtool) install_prometheus ;;
    shellcheck) install_shellcheck ;;
    *) die "unknown tool '$1' (known: grpcurl ghz helm jaeger prometheus promtool shellcheck)" ;;
  esac
}

main() {
  [ $# -gt 0 ] || die "usage: $0 <grpcurl|ghz|helm|jaeger|prometheus|promtool|shellcheck>..."
  mkdir -p "$BIN" "$CACHE/tmp"
  local tool
  for tool in "$@"; do install_one "$tool"; done
  echo "$BIN"
}

main "$@"
