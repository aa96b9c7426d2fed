# The chat server on the official Deno image: `deno task start`, with the KV database in /data.
#   docker build -t edge-chat .
#   docker run -p 8000:8000 -v chat-data:/data edge-chat
# Settings are environment variables (see the README), e.g. -e CHAT_JWT_SECRET=... .
FROM denoland/deno:2.9.6

WORKDIR /app
RUN mkdir -p /data && chown deno:deno /data /app
USER deno

# Dependencies first, so that a code change does not download them again.
COPY --chown=deno:deno deno.json deno.lock ./
COPY --chown=deno:deno main.ts ./
COPY --chown=deno:deno src ./src
COPY --chown=deno:deno static ./static
RUN deno cache main.ts

ENV PORT=8000 \
    HOSTNAME=0.0.0.0 \
    CHAT_KV_PATH=/data/chat.kv
VOLUME ["/data"]
EXPOSE 8000

# `deno task start` handles SIGTERM (docker stop): sockets get 1001, pending writes are committed.
CMD ["task", "start"]
