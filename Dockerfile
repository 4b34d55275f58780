# The erldist command as a container image: `docker build -t erldist .` (deploy/erldist.yaml runs it as erldist:latest).
# The test suite builds it unchanged with podman (scripts/images.mjs, on stand-ins for the node base image) and runs
# it as deploy/erldist.yaml says, in emulated pods next to BEAM pods (test/deploy/image.test.ts,
# test/cluster/k8s-containers.test.ts).

# Build stage: every dependency (TypeScript, @types/node), then compile src/ to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the compiled JavaScript only; no compiler, no sources, no tests.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/cli/main.js reads ../../package.json (its version), so package.json stays next to dist/.
COPY --from=build /app/dist ./dist
# The cookie comes from a file by default: mount the cluster's cookie Secret at /var/run/secrets/erldist (key
# `cookie`), as deploy/erldist.yaml does. ERLANG_COOKIE or --cookie-file still take precedence when given.
ENV ERLDIST_COOKIE_FILE=/var/run/secrets/erldist/cookie
# The official node images' unprivileged user (uid 1000); Kubernetes manifests give it as runAsUser: 1000.
USER node
# The status page (erldist join --status-port 8080). erldist dials the BEAM nodes itself; `join` also starts its
# built-in epmd on 4369 when no epmd answers (none runs in its container), declared in deploy/erldist.yaml.
EXPOSE 8080
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]
