// Processes a browser test runs of its own (a chat-server with settings of its own, an SMTP
// server): a free port, start-and-wait, stop. The caller stops what it started in `after`,
// which node:test runs also when a test fails.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** A free TCP port on 127.0.0.1 (closed again at once, so a child can listen on it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export const listening = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
    s.on('error', () => resolve(false));
  });

/**
 * Starts `command` and waits (30 s at most) until `ready()` holds. Returns `{child, exited}`;
 * a child that exits first, or is never ready, fails the start (and is killed).
 */
export async function start(what, command, args, options, ready, logHint = '') {
  const child = spawn(command, args, options);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited early${logHint}`);
    if (await ready().catch(() => false)) return { child, exited };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`${what} did not become ready in 30s${logHint}`);
}

/** SIGTERM and wait for the exit; nothing to do for a process never started or gone. */
export async function stop(proc) {
  if (!proc) return;
  if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
  await proc.exited;
}

/**
 * A chat-server (E2E_CHAT_BIN) on 127.0.0.1:`port` with its store and uploads in `dir`, its
 * log appended to dir/chat-server.log, `env` on top of the minimum it needs; resolves once
 * /health/live answers.
 */
export async function startChatServer(dir, port, env = {}) {
  const logFile = path.join(dir, 'chat-server.log');
  const log = fs.openSync(logFile, 'a');
  try {
    return await start(
      'chat-server',
      process.env.E2E_CHAT_BIN,
      [],
      {
        cwd: dir,
        stdio: ['ignore', log, log],
        env: {
          PATH: process.env.PATH,
          CHAT_LISTEN: `127.0.0.1:${port}`,
          CHAT_STORE: path.join(dir, 'data'),
          CHAT_UPLOAD_DIR: path.join(dir, 'uploads'),
          CHAT_SHUTDOWN_GRACE_SECS: '1',
          ...env,
        },
      },
      async () => (await fetch(`http://127.0.0.1:${port}/health/live`)).ok,
      `; see ${logFile}`,
    );
  } finally {
    fs.closeSync(log);
  }
}
