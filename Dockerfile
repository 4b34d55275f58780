# The erldist command as a container image: `docker build -t erldist .` (deploy/erldist.yaml runs it as erldist:latest).
# NOTE: this Dockerfile has not been built where it was written (no Docker engine runs there); its facts (base
# images, entry point, user) are checked against package.json by test/deploy/manifests.test.ts, not by a build.

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
# The official node images' unprivileged user (uid 1000); Kubernetes manifests give it as runAsUser: 1000.
USER node
# The status page (erldist join --status-port 8080). erldist dials the BEAM nodes itself; `join` also starts its
# built-in epmd on 4369 when no epmd answers (none runs in its container), declared in deploy/erldist.yaml.
EXPOSE 8080
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]
