#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript, spark.driver.resource.gpu.discoveryScript):
# prints the GPUs this executor may use as Spark's ResourceInformation JSON, e.g. {"name":"gpu","addresses":["0","1"]}.
# The addresses are the indices nvidia-smi lists, i.e. the GPUs visible to this container or cgroup (Kubernetes' and
# YARN's GPU isolation hide the others). Exits non-zero, with the reason on stderr, when nvidia-smi is missing or fails:
# Spark then fails the executor instead of scheduling GPU tasks on a machine without GPUs.
set -euo pipefail
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "getGpusResources.sh: nvidia-smi not found on PATH; install the NVIDIA driver utilities or drop the GPU confs" >&2
  exit 1
fi
indices="$(nvidia-smi --query-gpu=index --format=csv,noheader)" || {
  echo "getGpusResources.sh: 'nvidia-smi --query-gpu=index' failed (no driver or no GPU visible)" >&2
  exit 1
}
addresses=""
while IFS= read -r line; do
  idx="${line//[[:space:]]/}"
  [ -z "$idx" ] && continue
  case "$idx" in
    *[!0-9]*) echo "getGpusResources.sh: unexpected GPU index '$idx' from nvidia-smi" >&2; exit 1 ;;
  esac
  addresses="${addresses:+$addresses,}\"$idx\""
done <<< "$indices"
echo "{\"name\":\"gpu\",\"addresses\":[${addresses}]}"
