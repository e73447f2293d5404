#!/usr/bin/env bash
# Renders and validates the chart as CI does (tests/test_helm_chart.py runs it in `make test`):
#   helm lint --strict, then for each named value set (defaults + rehapro/ci/*-values.yaml):
#   helm template, kubeconform -strict against the vendored schemas (Kubernetes + Strimzi,
#   CloudNativePG, prometheus-operator CRDs; offline), checkov with 0 failed checks (skips are
#   annotated, with their reason, on the objects). Bad values must be rejected by the schema.
# Needs helm, kubeconform (go install, see .ci/run) and checkov (uv tool); exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
chart="$here/rehapro"
kube_version=1.33.0
out="${CHART_RENDER_DIR:-$(mktemp -d)}"
mkdir -p "$out"
export PATH="$HOME/go/bin:$HOME/.local/bin:$PATH"

for tool in helm kubeconform checkov; do
  command -v "$tool" >/dev/null || { echo "check.sh: $tool not found (bash .ci/run installs it)" >&2; exit 2; }
done

sets=(default)
for f in "$chart"/ci/*-values.yaml; do sets+=("$(basename "$f" -values.yaml)"); done

values_args() {
  [ "$1" = default ] || echo "-f $chart/ci/$1-values.yaml"
}

echo "== helm lint --strict"
for s in "${sets[@]}"; do
  # shellcheck disable=SC2046
  helm lint --strict --quiet --kube-version "$kube_version" "$chart" $(values_args "$s") >/dev/null
  echo "lint $s: ok"
done

echo "== helm template + kubeconform -strict"
for s in "${sets[@]}"; do
  # shellcheck disable=SC2046
  helm template "rel-$s" "$chart" --namespace "ns-$s" --kube-version "$kube_version" $(values_args "$s") \
    >"$out/$s.yaml"
  kubeconform -strict -summary -kubernetes-version "$kube_version" \
    -schema-location "$here/schemas/kubernetes/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$here/schemas/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    "$out/$s.yaml" | sed "s/^/$s: /"
done

echo "== checkov (kubernetes), 0 failed checks"
for s in "${sets[@]}"; do
  [ "$s" = default ] && continue  # the defaults name no image digest; every deployable set does
  summary="$(checkov -f "$out/$s.yaml" --framework kubernetes --quiet --compact --skip-download -o cli 2>/dev/null || true)"
  counts="$(grep -E 'Passed checks: [0-9]+, Failed checks: [0-9]+' <<<"$summary" || true)"
  echo "$s: ${counts:-no summary}"
  if [ -z "$counts" ] || ! grep -q 'Failed checks: 0,' <<<"$counts"; then
    echo "$summary" >&2
    exit 1
  fi
done

echo "== values the schema must reject"
reject() {
  local why="$1"; shift
  if helm template bad "$chart" --kube-version "$kube_version" "$@" >/dev/null 2>"$out/reject.err"; then
    echo "accepted but must be rejected: $why" >&2
    exit 1
  fi
  echo "rejected: $why"
}
reject "replicas: two" --set-string services.intake.replicas=two
reject "an unknown key (typo)" --set services.intake.replica=2
reject "reporting with two replicas" --set services.reporting.replicas=2
reject "an image digest that is not sha256" --set image.digest=latest
reject "an unknown top-level key" --set kafak.create=false
reject "the HS256 secret of before (jwt.existingSecret)" --set jwt.existingSecret=rehapro-jwt
reject "an inline trust file without issuers" --set auth.trust.from=inline
reject "a trusted issuer without JWKS" --set auth.trust.from=inline --set 'auth.trust.issuers[0].issuer=https://idp.example' \
  --set 'auth.trust.issuers[0].agency=jc-en'
reject "an unknown KEK provider" --set keys.provider=vault
echo "chart checks passed"
