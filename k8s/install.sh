#!/usr/bin/env bash
# Installs the ledger and its observability stack on a single-node k3s, in the seed's priority
# order (each step waits until its pods are ready before the next starts):
#
#   1. Prometheus   kube-prometheus-stack: Prometheus, operator, node exporter, kube-state-metrics
#   2. Grafana      the same release, with Loki and Jaeger data sources and the dashboard sidecar
#   3. Loki         monolithic, filesystem; and Grafana Alloy shipping the pods' logs to it
#                   (the seed's Promtail is end-of-life since 2026-03; Alloy is its successor)
#   4. Jaeger v2    OTLP gRPC 4317 / HTTP 4318, query API 16686
#   5. optional     Tempo (--with-tempo), eBPF profiler: Pyroscope + Alloy pyroscope.ebpf (--with-profiler)
#   6. Redis, Postgres, Kafka for development (namespace ledger-deps; --no-deps skips them)
#   7. the ledger chart (k8s/ledger, namespace ledger; --no-ledger skips it)
#
# Usage: k8s/install.sh [--dry-run] [--with-tempo] [--with-profiler] [--no-deps] [--no-ledger]
#                       [--image REPOSITORY:TAG] [--timeout DURATION]
# --dry-run prints every command, in order, and runs none (no cluster needed).
# Re-running is safe: `helm upgrade --install` converges, and generated passwords are kept.
# Needs: kubectl and helm 3 on PATH (or $KUBECTL / $HELM), a kubeconfig ($KUBECONFIG, else k3s').
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
values="$here/stack/values"

# Pinned chart versions and their repositories: change here to upgrade (then re-run).
KPS_REPO=https://prometheus-community.github.io/helm-charts
KPS_VERSION=88.5.3 # kube-prometheus-stack, Prometheus operator v0.93
LOKI_REPO=https://grafana-community.github.io/helm-charts
LOKI_VERSION=18.11.0 # Loki 3.7 (the OSS chart's home since 2026-03)
TEMPO_VERSION=2.2.4  # Tempo 2.10, same repository as Loki
GRAFANA_REPO=https://grafana.github.io/helm-charts
ALLOY_VERSION=1.11.1     # Alloy v1.18
PYROSCOPE_VERSION=2.2.1  # Pyroscope 2.2
JAEGER_REPO=https://jaegertracing.github.io/helm-charts
JAEGER_VERSION=4.11.1 # Jaeger v2.19

OBS_NS=observability
DEPS_NS=ledger-deps
LEDGER_NS=ledger

dry_run=0
with_tempo=0
with_profiler=0
with_deps=1
with_ledger=1
timeout=10m
image=""

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --with-tempo) with_tempo=1 ;;
    --with-profiler) with_profiler=1 ;;
    --no-deps) with_deps=0 ;;
    --no-ledger) with_ledger=0 ;;
    --image)
      [ $# -ge 2 ] || usage 2
      image=$2
      shift
      ;;
    --timeout)
      [ $# -ge 2 ] || usage 2
      timeout=$2
      shift
      ;;
    -h | --help) usage 0 ;;
    *)
      echo "install.sh: unknown option '$1'" >&2
      usage 2
      ;;
  esac
  shift
done

HELM=${HELM:-helm}
KUBECTL=${KUBECTL:-kubectl}
if [ -z "${KUBECONFIG:-}" ] && [ -r /etc/rancher/k3s/k3s.yaml ]; then
  export KUBECONFIG=/etc/rancher/k3s/k3s.yaml
fi

log() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }

# run <command...>: prints it, then runs it unless --dry-run.
run() {
  printf '+ %s\n' "$*"
  [ "$dry_run" = 1 ] || "$@"
}

# helm_install <release> <chart> <repo> <version> <namespace> <values files...>
helm_install() {
  local release=$1 chart=$2 repo=$3 version=$4 namespace=$5
  shift 5
  local files=() f
  for f in "$@"; do files+=(-f "$f"); done
  run "$HELM" upgrade --install "$release" "$chart" --repo "$repo" --version "$version" \
    --namespace "$namespace" --create-namespace "${files[@]}" --wait --timeout "$timeout"
}

namespace() {
  if [ "$dry_run" = 1 ]; then
    printf '+ %s create namespace %s (if missing)\n' "$KUBECTL" "$1"
  elif ! "$KUBECTL" get namespace "$1" >/dev/null 2>&1; then
    run "$KUBECTL" create namespace "$1"
  fi
}

random_password() {
  # 32 characters of [A-Za-z0-9] (URL-safe, so it needs no escaping in connection URLs). `cut`
  # reads all its input: no SIGPIPE upstream to trip pipefail.
  head -c 48 /dev/urandom | base64 | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c 1-32
}

# secret_value <namespace> <secret> <key>: the decoded value, or nothing if the Secret is missing.
secret_value() {
  "$KUBECTL" -n "$1" get secret "$2" -o "jsonpath={.data.$3}" 2>/dev/null | base64 -d 2>/dev/null || true
}

# secret_once <namespace> <name> <key=value>...: creates the Secret unless it exists (generated
# passwords are never rotated behind a running service). Prints the keys, never the values.
secret_once() {
  local ns=$1 name=$2
  shift 2
  local args=() kv keys=()
  for kv in "$@"; do
    args+=(--from-literal="$kv")
    keys+=("${kv%%=*}")
  done
  printf '+ %s -n %s create secret generic %s (keys: %s; if missing)\n' "$KUBECTL" "$ns" "$name" "${keys[*]}"
  [ "$dry_run" = 1 ] && return 0
  if ! "$KUBECTL" -n "$ns" get secret "$name" >/dev/null 2>&1; then
    "$KUBECTL" -n "$ns" create secret generic "$name" "${args[@]}" >/dev/null
  fi
}

preflight() {
  [ "$dry_run" = 1 ] && return 0
  command -v "$HELM" >/dev/null || { echo "install.sh: helm not found (set HELM)" >&2; exit 1; }
  command -v "$KUBECTL" >/dev/null || { echo "install.sh: kubectl not found (set KUBECTL)" >&2; exit 1; }
  "$KUBECTL" version >/dev/null || { echo "install.sh: no cluster reachable (KUBECONFIG=${KUBECONFIG:-})" >&2; exit 1; }
}

install_prometheus() {
  step "1. Prometheus (kube-prometheus-stack $KPS_VERSION: operator, node exporter, kube-state-metrics)"
  helm_install kube-prometheus-stack kube-prometheus-stack "$KPS_REPO" "$KPS_VERSION" "$OBS_NS" \
    "$values/kube-prometheus-stack.yaml"
}

install_grafana() {
  step "2. Grafana (kube-prometheus-stack $KPS_VERSION, data sources Prometheus, Loki, Jaeger)"
  namespace "$OBS_NS"
  secret_once "$OBS_NS" grafana-admin admin-user=admin "admin-password=$(random_password)"
  helm_install kube-prometheus-stack kube-prometheus-stack "$KPS_REPO" "$KPS_VERSION" "$OBS_NS" \
    "$values/kube-prometheus-stack.yaml" "$values/grafana.yaml"
}

install_loki() {
  step "3. Loki (loki $LOKI_VERSION, monolithic, filesystem) and Grafana Alloy (alloy $ALLOY_VERSION, pod logs)"
  helm_install loki loki "$LOKI_REPO" "$LOKI_VERSION" "$OBS_NS" "$values/loki.yaml"
  helm_install alloy alloy "$GRAFANA_REPO" "$ALLOY_VERSION" "$OBS_NS" "$values/alloy.yaml"
}

install_jaeger() {
  step "4. Jaeger v2 (jaeger $JAEGER_VERSION, OTLP 4317/4318)"
  helm_install jaeger jaeger "$JAEGER_REPO" "$JAEGER_VERSION" "$OBS_NS" "$values/jaeger.yaml"
}

install_optional() {
  if [ "$with_tempo" = 1 ]; then
    step "5a. Tempo (tempo $TEMPO_VERSION, optional)"
    helm_install tempo tempo "$LOKI_REPO" "$TEMPO_VERSION" "$OBS_NS" "$values/tempo.yaml"
    run "$KUBECTL" apply -f "$here/stack/optional/tempo-datasource.yaml"
  fi
  if [ "$with_profiler" = 1 ]; then
    step "5b. eBPF profiler (pyroscope $PYROSCOPE_VERSION, alloy $ALLOY_VERSION with pyroscope.ebpf, optional)"
    helm_install pyroscope pyroscope "$GRAFANA_REPO" "$PYROSCOPE_VERSION" "$OBS_NS" "$values/pyroscope.yaml"
    helm_install alloy-profiler alloy "$GRAFANA_REPO" "$ALLOY_VERSION" "$OBS_NS" "$values/alloy-profiler.yaml"
    run "$KUBECTL" apply -f "$here/stack/optional/pyroscope-datasource.yaml"
  fi
}

install_deps() {
  step "6. Redis, Postgres, Kafka for development (namespace $DEPS_NS)"
  namespace "$DEPS_NS"
  local password=""
  [ "$dry_run" = 1 ] || password=$(secret_value "$DEPS_NS" ledger-postgres password)
  [ -n "$password" ] || password=$(random_password)
  secret_once "$DEPS_NS" ledger-postgres "password=$password"
  run "$KUBECTL" apply -f "$here/stack/dev/redis.yaml" -f "$here/stack/dev/postgres.yaml" -f "$here/stack/dev/kafka.yaml"
  run "$KUBECTL" -n "$DEPS_NS" rollout status deployment/ledger-redis --timeout "$timeout"
  run "$KUBECTL" -n "$DEPS_NS" rollout status statefulset/ledger-postgres --timeout "$timeout"
  run "$KUBECTL" -n "$DEPS_NS" rollout status statefulset/ledger-kafka --timeout "$timeout"
  # The ledger's connection URLs, in its own namespace (a Secret cannot be read across namespaces).
  namespace "$LEDGER_NS"
  if [ "$dry_run" = 0 ]; then password=$(secret_value "$DEPS_NS" ledger-postgres password); fi
  secret_once "$LEDGER_NS" ledger-connections \
    "database-url=postgres://ledger:$password@ledger-postgres.$DEPS_NS.svc.cluster.local:5432/ledger" \
    "redis-url=redis://ledger-redis.$DEPS_NS.svc.cluster.local:6379/0"
}

install_ledger() {
  step "7. The ledger (chart k8s/ledger, namespace $LEDGER_NS)"
  local image_args=()
  if [ -n "$image" ]; then
    image_args=(--set "image.repository=${image%:*}" --set "image.tag=${image##*:}")
  fi
  run "$HELM" upgrade --install ledger "$here/ledger" --namespace "$LEDGER_NS" --create-namespace \
    -f "$values/ledger-dev.yaml" "${image_args[@]}" --wait --timeout "$timeout"
}

main() {
  preflight
  install_prometheus
  install_grafana
  install_loki
  install_jaeger
  install_optional
  if [ "$with_deps" = 1 ]; then install_deps; fi
  if [ "$with_ledger" = 1 ]; then install_ledger; fi
  step "done"
  log "Grafana: kubectl -n $OBS_NS port-forward svc/kube-prometheus-stack-grafana 3000:80  (user admin;"
  log "         password: kubectl -n $OBS_NS get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d)"
  log "Jaeger:  kubectl -n $OBS_NS port-forward svc/jaeger 16686:16686"
}

main
