# The Parley relay, from its bundle (scripts/build-relay.mjs): build stage with dev dependencies, runtime stage with
# production dependencies only (better-sqlite3 is native and is compiled in the build stage for this image's Node).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
ENV ELECTRON_SKIP_BINARY_DOWNLOAD=1
RUN npm ci --no-audit --no-fund
COPY relay ./relay
COPY scripts ./scripts
COPY tsconfig*.json ./
RUN node scripts/build-relay.mjs && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/relay ./dist/relay
COPY package.json ./
USER node
EXPOSE 7070
# --host 0.0.0.0 turns TLS on (the relay's own certificate from --data; clients pin its key's fingerprint)
ENTRYPOINT ["node", "dist/relay/cli.js"]
CMD ["--host", "0.0.0.0", "--port", "7070", "--data", "/data", "--no-advertise"]
