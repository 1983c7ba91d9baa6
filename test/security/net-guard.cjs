// Network tripwire, loaded with `node --require test/security/net-guard.cjs` into the engine host or the CLI in the
// offline tests: every outbound attempt (TCP/IPC connect, DNS, http(s), tls, UDP, fetch) is recorded as one JSON
// line in $DELINEATE_NET_LOG (or stderr) and refused with an error, so the test can assert there were none.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const dns = require('node:dns');
const http = require('node:http');
const https = require('node:https');
const tls = require('node:tls');
const dgram = require('node:dgram');

const logFile = process.env.DELINEATE_NET_LOG;

function record(kind, target) {
  const line = JSON.stringify({ pid: process.pid, kind, target: String(target).slice(0, 200) }) + '\n';
  if (logFile) fs.appendFileSync(logFile, line);
  else process.stderr.write(`net-guard: ${line}`);
  return new Error(`net-guard: outbound ${kind} to ${target} refused (the engine must stay offline)`);
}

function describe(args) {
  const a = args[0];
  if (Array.isArray(a)) return describe(a);
  if (a && typeof a === 'object') return a.path ?? `${a.host ?? 'localhost'}:${a.port}`;
  return args.length > 1 && typeof args[1] === 'string' ? `${args[1]}:${a}` : String(a);
}

// Proof that the tripwire is armed in this process (the test expects one such line per guarded process).
if (logFile) fs.appendFileSync(logFile, JSON.stringify({ pid: process.pid, kind: 'armed', target: process.argv[1] ?? '' }) + '\n');

net.Socket.prototype.connect = function connect(...args) {
  const err = record('connect', describe(args));
  process.nextTick(() => this.destroy(err));
  return this;
};
dns.lookup = function lookup(host, ...rest) {
  const cb = rest.find((r) => typeof r === 'function');
  const err = record('dns', host);
  if (cb) process.nextTick(() => cb(err));
};
for (const name of ['resolve', 'resolve4', 'resolve6', 'resolveAny', 'reverse']) {
  dns[name] = function blocked(host, ...rest) {
    const cb = rest.find((r) => typeof r === 'function');
    const err = record('dns', host);
    if (cb) process.nextTick(() => cb(err));
  };
}
dns.promises.lookup = async (host) => {
  throw record('dns', host);
};
for (const mod of [http, https]) {
  const scheme = mod === http ? 'http' : 'https';
  mod.request = function request(target) {
    throw record(scheme, typeof target === 'string' || target instanceof URL ? target : `${target && target.hostname}`);
  };
  mod.get = mod.request;
}
tls.connect = function connect(...args) {
  throw record('tls', describe(args));
};
dgram.Socket.prototype.send = function send(...args) {
  throw record('udp', describe(args.slice(1)));
};
if (typeof globalThis.fetch === 'function') {
  globalThis.fetch = async (input) => {
    throw record('fetch', typeof input === 'string' ? input : input && input.url);
  };
}
