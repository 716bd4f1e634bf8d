'use strict';
/* global process */
/*
 * A tiny netcat for ssh's ProxyCommand (there is no nc or socat on the test machines). The sshd
 * harness (test/e2e/sshd.ts) runs it inside a fake host's network namespace:
 *   ProxyCommand ip netns exec <ns> node ns-proxy.cjs 127.0.0.1 %p
 * It pipes stdin to a TCP connection to host:port and the connection to stdout, and exits when
 * either side closes. With `--probe` it only tries to connect: exit 0 if something listens,
 * 1 if the connection is refused, 2 on any other error (the harness's "is the port closed yet").
 */
const [host, port, mode] = process.argv.slice(2);

import('node:net').then(({ connect }) => {
  const socket = connect({ host, port: Number(port) });
  if (mode === '--probe') {
    socket.on('connect', () => {
      socket.destroy();
      process.exit(0);
    });
    socket.on('error', (error) => process.exit(error.code === 'ECONNREFUSED' ? 1 : 2));
    return;
  }
  socket.on('connect', () => {
    process.stdin.pipe(socket);
    socket.pipe(process.stdout);
  });
  socket.on('error', (error) => {
    process.stderr.write(`ns-proxy: ${host}:${port}: ${error.message}\n`);
    process.exit(1);
  });
  // ssh closed our stdin: pass the end on; the server then closes, and so do we.
  process.stdin.on('end', () => socket.end());
  socket.on('close', () => process.exit(0));
  process.stdout.on('error', () => process.exit(0));
});
