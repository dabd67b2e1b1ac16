# syntax=docker/dockerfile:1
# One image for the API and the worker; the command chooses (docs/operations.md "Deploy"):
#   docker build -t messaging-service .
#   docker run … messaging-service                                                    the API
#   docker run … messaging-service node --max-old-space-size=384 dist/worker/main.js  the worker
# `--target simulator` is the provider simulator docker-compose.yml stands in for the providers with.

# Node 24 (LTS until April 2028), the release .ci/run tests the whole suite on; package.json "engines" names
# every supported release (22 and 24).
ARG NODE_IMAGE=node:24.22.3-trixie-slim

# Build: every dependency, TypeScript included; `npm run build` compiles the service into dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# The provider simulator is dev tooling (smtp-server, mailparser, tsx are devDependencies): it runs from the
# build stage, which has them.
FROM build AS simulator
USER node
EXPOSE 4010 2525
CMD ["node", "--import", "tsx", "simulator/main.ts"]

# Runtime (the default target): production dependencies and dist/ only, as the unprivileged user `node`.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The workflows bundled at build time: the worker loads them instead of running webpack at start (less memory).
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
COPY config ./config
# A volume mounted on .data (docker-compose.yml's FCM key) takes this folder's owner, so `node` can write it.
RUN mkdir .data && chown node:node .data
USER node
EXPOSE 3000
CMD ["node", "dist/api/server.js"]
