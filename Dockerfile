# The rabbit-operator image. Build: docker build -t rabbit-operator .
# (The test harness builds an equivalent image without a registry: dev/images/operator-image.ts.)

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are not needed to compile; skipping them keeps the build offline-friendly.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator ./operator
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module", which dist/ needs.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# A numeric non-root user, so that runAsNonRoot can verify it without a passwd lookup.
USER 65532:65532
ENTRYPOINT ["node", "dist/operator/main.js"]
