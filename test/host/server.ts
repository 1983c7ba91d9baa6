// The browser test host (a test/dev tool, not a product): serves the built renderer to Chromium on
// 127.0.0.1 and backs window.delineate with the SAME main/ipc handlers, validators and engine host process
// the Electron app uses, over a WebSocket that requires a random token. Dialogs and drops are injected.

import { build } from 'esbuild';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventChannel, EventChannels, IpcReply } from '../../preload/api';
import { EngineHostClient, forkHost } from '../../main/engine/host/client';
import { createDispatch } from '../../main/ipc/dispatch';
import { createHandlers, forwardEngineState } from '../../main/ipc/handlers';
import type { Dialogs } from '../../main/services/dialogs';
import { FileRegistry } from '../../main/services/files';
import { RecentFiles } from '../../main/services/recent';
import { decodeFrame, encodeFrame, type WireCall } from './wire';

const ROOT = resolve(__dirname, '..', '..');
export const RENDERER_DIR = join(ROOT, 'dist', 'renderer');
export const ENGINE_HOST = join(ROOT, 'dist', 'engine-host.cjs');

export interface TestHostOptions {
  rendererDir?: string;
  /** Engine host client to use; default: a fork of dist/engine-host.cjs. */
  engine?: EngineHostClient;
  log?: (line: string) => void;
  /** Session autosave folder given to the forked engine host; default: a new temporary folder. */
  autosaveDir?: string;
  /** The app data folder standing in for Electron's userData (recent.json; models/ for user models); default: a new temporary folder. */
  dataDir?: string;
}

/** What tests steer: the next dialog answer, the drop table, the engine process, shutdown. */
export interface HostControl {
  /** Page URL including the socket token. */
  url: string;
  /** The next "Open..." dialog returns this path (null: the user cancels). */
  setNextDialogPath(path: string | null): void;
  /** A File named `name` dropped in the page opens `path`. */
  registerDrop(name: string, path: string): void;
  /** The next save dialog (Save session, Export) returns this path (null: the user cancels). */
  setNextSavePath(path: string | null): void;
  /** What the last save dialog was asked to suggest, and with which extensions. */
  lastSaveRequest(): { defaultName: string; extensions: string[] } | null;
  /** Where the engine host autosaves sessions. */
  autosaveDir: string;
  /** The next "Add model..." dialog returns this path (null: the user cancels). */
  setNextModelPath(path: string | null): void;
  /** How many times the page asked to close its window ('app:close-window'). */
  closeRequests(): number;
  /** The app data folder (recent.json) and the user models folder inside it. */
  dataDir: string;
  userModelsDir: string;
  engine: EngineHostClient;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

async function bundleBridge(): Promise<string> {
  const out = await build({
    entryPoints: [join(__dirname, 'bridge.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    logLevel: 'warning',
  });
  const file = out.outputFiles[0];
  if (!file) throw new Error('bridge bundle is empty');
  return file.text;
}

export async function startTestHost(options: TestHostOptions = {}): Promise<HostControl> {
  const rendererDir = resolve(options.rendererDir ?? RENDERER_DIR);
  const log = options.log ?? (() => undefined);
  const token = randomBytes(24).toString('hex');
  const bridgeJs = await bundleBridge();
  const indexHtml = await readFile(join(rendererDir, 'index.html'), 'utf8');

  let nextDialogPath: string | null = null;
  let nextSavePath: string | null = null;
  let nextModelPath: string | null = null;
  let lastSave: { defaultName: string; extensions: string[] } | null = null;
  const drops = new Map<string, string>();
  const takeOpen = async (): Promise<string | null> => {
    const path = nextDialogPath;
    nextDialogPath = null;
    return path;
  };
  // Open dialogs (image or session) share one answer; save dialogs have their own.
  const dialogs: Dialogs = {
    openImage: takeOpen,
    openSession: takeOpen,
    openFolder: takeOpen,
    async openModel() {
      const path = nextModelPath;
      nextModelPath = null;
      return path;
    },
    async saveFile(defaultName, filters) {
      lastSave = { defaultName, extensions: filters.flatMap((f) => f.extensions) };
      const path = nextSavePath;
      nextSavePath = null;
      return path;
    },
  };

  const sockets = new Set<WebSocket>();
  let closeRequests = 0;
  const emit = <E extends EventChannel>(event: E, payload: EventChannels[E]) => {
    const frame = encodeFrame({ event, payload });
    for (const s of sockets) s.send(frame);
  };
  const autosaveDir = options.autosaveDir ?? mkdtempSync(join(tmpdir(), 'delineate-autosave-'));
  // The same layout as the app's userData: recent.json and the user models folder.
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'delineate-data-'));
  const userModelsDir = join(dataDir, 'models');
  const engine = options.engine ?? new EngineHostClient({ spawn: forkHost(ENGINE_HOST, [], { DELINEATE_AUTOSAVE_DIR: autosaveDir, DELINEATE_USER_MODELS_DIR: userModelsDir }) });
  const unforward = forwardEngineState(engine, emit);
  const handlers = createHandlers({
    files: new FileRegistry(),
    dialogs,
    engine,
    emit,
    app: { name: 'delineate', version: '0.0.0-testhost', host: 'testhost' },
    recent: new RecentFiles(join(dataDir, 'recent.json'), { onProblem: log }),
    log,
    licenseDir: join(ROOT, 'dist'),
    closeWindow: () => {
      closeRequests++;
    },
  });
  const dispatch = createDispatch(handlers, (channel, err) => log(`ipc ${channel}: ${err instanceof Error ? err.message : String(err)}`));

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      log(`http: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  // Only here may the page talk to the loopback socket; the app's CSP is otherwise unchanged.
  const csp = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws://127.0.0.1:${port}; font-src 'self'`;
  const servedHtml = indexHtml
    .replace(/(http-equiv="Content-Security-Policy"\s+content=")[^"]*"/, `$1${csp}"`)
    .replace(/<script type="module"/, '<script src="./bridge.js"></script>\n    <script type="module"');
  if (!servedHtml.includes('bridge.js')) throw new Error('renderer index.html has no module script to put the bridge before');

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const headers = { 'Content-Security-Policy': csp, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
    if (req.method !== 'GET') return void res.writeHead(405, headers).end();
    if (url.pathname === '/' || url.pathname === '/index.html') {
      return void res.writeHead(200, { ...headers, 'Content-Type': MIME['.html'] }).end(servedHtml);
    }
    if (url.pathname === '/bridge.js') {
      return void res.writeHead(200, { ...headers, 'Content-Type': MIME['.js'] }).end(bridgeJs);
    }
    const file = resolve(rendererDir, '.' + decodeURIComponent(url.pathname));
    if (!file.startsWith(rendererDir + sep)) return void res.writeHead(403, headers).end();
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return void res.writeHead(404, headers).end();
    res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(await readFile(file));
  }

  // The socket stands in for Electron's sender check: right origin and the secret token, or no connection.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  const expected = Buffer.from(token);
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    const given = Buffer.from(url.searchParams.get('token') ?? '');
    const tokenOk = given.length === expected.length && timingSafeEqual(given, expected);
    if (url.pathname !== '/ws' || !tokenOk || req.headers.origin !== origin) {
      log('ws: refused a connection (bad path, token or origin)');
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        void answer(ws, isBinary ? data : null);
      });
    });
  });

  async function answer(ws: WebSocket, data: Buffer | null): Promise<void> {
    let call: WireCall;
    try {
      if (!data) throw new Error('text frame');
      call = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) as WireCall;
      if (typeof call.id !== 'number' || !Array.isArray(call.args)) throw new Error('bad call');
    } catch {
      log('ws: dropped a malformed frame');
      return;
    }
    let reply: IpcReply;
    if (call.channel === 'file:open-dropped') {
      // The bridge sends the dropped File's name; the test's drop table says which path that stands for.
      const name = call.args[0];
      const path = typeof name === 'string' && call.args.length === 1 ? drops.get(name) : undefined;
      reply = path === undefined ? { ok: false, error: 'dropped file is not available' } : await dispatch(call.channel, [path]);
    } else {
      reply = await dispatch(call.channel, call.args);
    }
    if (ws.readyState === ws.OPEN) ws.send(encodeFrame({ id: call.id, reply }));
  }

  engine.start().catch((err: unknown) => log(`engine: ${String(err)}`));

  return {
    url: `${origin}/?token=${token}`,
    setNextDialogPath(path) {
      nextDialogPath = path;
    },
    registerDrop(name, path) {
      drops.set(name, path);
    },
    setNextSavePath(path) {
      nextSavePath = path;
    },
    lastSaveRequest: () => lastSave,
    closeRequests: () => closeRequests,
    autosaveDir,
    setNextModelPath(path) {
      nextModelPath = path;
    },
    dataDir,
    userModelsDir,
    engine,
    async close() {
      unforward();
      for (const s of sockets) s.terminate();
      wss.close();
      await new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      await engine.stop();
    },
  };
}
