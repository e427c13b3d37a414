'use strict';
// What the binding's test files share: the simulator as a child process (its control API) and a
// condition poll. No tests here.

const { spawn } = require('node:child_process');
const path = require('node:path');

const simBinary = process.env.RTMS_SIM || path.join(__dirname, '..', '..', '..', '..', '.build', 'debug', 'rtms-sim');

// rtms-sim on a free port of 127.0.0.1 with these credentials, plain ws:// (--no-tls; its default
// is wss://); resolves to its control API.
function startSim(credentials, ...extra) {
  return new Promise((resolve, reject) => {
    const proc = spawn(simBinary, ['--host', '127.0.0.1', '--port', '0', '--meetings', '0', '--no-tls', '--client-id',
      credentials.clientId, '--client-secret', credentials.clientSecret, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let buf = '';
    proc.stderr.setEncoding('utf8');
    const onData = (d) => {
      buf += d;
      const m = buf.match(/listening on port (\d+)/);
      if (m) {
        const base = `http://127.0.0.1:${m[1]}`;
        const call = async (method, p, body) => {
          const r = await fetch(base + p, { method, body: body === undefined ? undefined : JSON.stringify(body) });
          return r.json();
        };
        resolve({
          proc, call,
          meeting: (o = {}) => call('POST', '/meetings', { duration: 4, ...o }),
          chaos: (id, connection, action) => call('POST', `/streams/${id}/chaos`, { connection, action }),
          close: () => proc.kill('SIGTERM'),
        });
      }
    };
    proc.stderr.on('data', onData);
    proc.on('error', reject);
  });
}

function until(cond, ms = 15000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error('timed out'));
      setTimeout(check, 20);
      return undefined;
    };
    check();
  });
}

module.exports = { startSim, until, simBinary };
