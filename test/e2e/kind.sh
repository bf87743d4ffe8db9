#!/usr/bin/env bash
# The e2e suite on a fresh kind cluster where Docker runs privileged containers and a registry is
# reachable (a developer machine, CI elsewhere): kind's stock node image, our RabbitMQ and operator
# images built and loaded, the chart installed by the tests, the cluster deleted at the end.
# On this project's own machines (podman, no registry) run `npm run test:e2e` instead.
#
#   test/e2e/kind.sh                                   # the whole suite
#   test/e2e/kind.sh test/e2e/product.test.ts          # one file
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v docker >/dev/null || { echo "kind.sh: docker is not installed" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "kind.sh: the Docker engine is not reachable" >&2; exit 1; }

export RABBIT_OPERATOR_KIND_PROVIDER=docker
# RABBIT_OPERATOR_NODE_IMAGE, when set, names the kind node image (default: kind's own).

npm ci --no-audit --no-fund
# The vitest global setup creates the kind cluster, builds and loads the images, and deletes the
# cluster when the run ends (also when it fails).
exec npx vitest run --project e2e "$@"
