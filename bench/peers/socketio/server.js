// The Socket.IO side of chat-bench: what a team following the original plan would run.
//
// Rooms mirror Atendo conversations: `join` puts the socket in a room, `publish` emits to every
// member of the room on every process (the sender included, as Atendo echoes to its sender), and
// both are acknowledged so the load tool sees the same round trip it sees on Atendo.
// The adapter is @socket.io/redis-adapter on node-redis 4, exactly as its README sets it up;
// `bufferutil` is installed because Socket.IO's performance guide recommends it, and `ws` picks
// it up by itself.
//
// Environment: PEER_LISTEN (host:port, default 127.0.0.1:3000), REDIS_URL (required),
// PEER_ADAPTER_KEY (Redis channel prefix, so concurrent runs on one Redis stay apart).
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

function fail(message) {
  console.error(`socketio-peer: ${message}`);
  process.exit(2);
}

const listen = process.env.PEER_LISTEN || "127.0.0.1:3000";
const sep = listen.lastIndexOf(":");
const host = listen.slice(0, sep);
const port = Number(listen.slice(sep + 1));
if (sep <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
  fail(`PEER_LISTEN=${JSON.stringify(listen)} is not host:port`);
}
const redisUrl = process.env.REDIS_URL;
if (!redisUrl || !/^rediss?:\/\//.test(redisUrl)) {
  fail(`REDIS_URL=${JSON.stringify(redisUrl)} is not a redis:// URL`);
}
const adapterKey = process.env.PEER_ADAPTER_KEY || "socket.io";

async function main() {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  for (const c of [pubClient, subClient]) {
    c.on("error", (e) => console.error(`socketio-peer: redis: ${e.message}`));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const httpServer = http.createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok\n");
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const io = new Server(httpServer, {
    transports: ["websocket"],
    serveClient: false,
    perMessageDeflate: false,
    adapter: createAdapter(pubClient, subClient, { key: adapterKey }),
  });

  io.on("connection", (socket) => {
    socket.on("join", (room, ack) => {
      if (typeof room !== "string" || room.length === 0) {
        if (typeof ack === "function") ack({ error: "room must be a non-empty string" });
        return;
      }
      socket.join(room);
      if (typeof ack === "function") ack("ok");
    });
    socket.on("publish", (room, body, ack) => {
      if (typeof room !== "string" || typeof body !== "string") {
        if (typeof ack === "function") ack({ error: "publish takes (room, body) strings" });
        return;
      }
      io.to(room).emit("message", room, body);
      if (typeof ack === "function") ack("ok");
    });
  });

  httpServer.listen(port, host);
  const stop = () => {
    io.close();
    Promise.allSettled([pubClient.quit(), subClient.quit()]).then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => fail(e.stack || String(e)));
