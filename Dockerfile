# mxq delivery worker image: Node 24 runs the TypeScript sources directly (type stripping),
# so there is no build step; only production dependencies are installed.
FROM node:24-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

COPY bin ./bin
COPY src ./src
# The sink service stores mail here (a named volume takes this directory's owner).
RUN mkdir -p /var/mail/sink && chown node:node /var/mail/sink

USER node
# REDIS_URL (e.g. redis://redis:6379) selects the queue; without it the worker looks for a local redis-server.
CMD ["node", "src/cli/main.ts", "worker"]
