// Profiles a Node process through its inspector (started with --inspect=127.0.0.1:<port>) from
// "started" until SIGTERM, then writes the .cpuprofile (open it in Chrome DevTools or speedscope):
//   node bench/lib/cpu-profile.js <inspector port> <out file>
// Nothing is loaded into the profiled process: V8's sampling profiler over the DevTools protocol.
/* global fetch, WebSocket */
const fs = require('fs');

async function main([port, out]) {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  const pending = new Map();
  let id = 0;
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.error) call.reject(new Error(message.error.message));
    else call.resolve(message.result);
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      pending.set(++id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot connect to the inspector on port ${port}`));
  });
  await send('Profiler.enable');
  await send('Profiler.start');
  process.stdout.write('started\n');
  await new Promise((resolve) => process.once('SIGTERM', resolve));
  const { profile } = await send('Profiler.stop');
  fs.writeFileSync(out, JSON.stringify(profile));
  ws.close();
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`cpu-profile: ${error.message}\n`);
  process.exit(1);
});
