# The rabbit-operator image, and the one recipe for it: the e2e tests build this very file
# (dev/images/operator-image.ts) and run what it makes on kind.
#   docker build -t rabbit-operator .      (or podman build)
# NODE_IMAGE: a Node.js 20 image with npm. The tests, which cannot pull, pass one built locally.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm reads NPM_CONFIG_OFFLINE: a build without a network (the tests', with an npm cache mounted
# at /root/.npm) sets it to true. Install scripts are not needed to compile.
ARG NPM_CONFIG_OFFLINE=false
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator ./operator
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module", which dist/ needs.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# A numeric non-root user, so that runAsNonRoot can verify it without a passwd lookup.
USER 65532:65532
ENTRYPOINT ["node", "dist/operator/main.js"]
