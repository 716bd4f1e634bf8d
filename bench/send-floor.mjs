// bench/send-floor: the least a Node program does for a verified send, for bench/send.mjs to measure mosaic
// against. It speaks tmux's client protocol with the build's own module (dist/tmux/wire.js, which imports
// only node:fs, node:net and a clock), as mosaic does: one capture for the stub's last ack, one command that
// types the text and presses Enter, then captures until the stub acknowledges a later message. No CLI, no
// roster, no lock, no draft check, no bracketed paste, no checksum, no event log.
// Run: node bench/send-floor.mjs WIRE_MODULE SOCKET TARGET TEXT   (bench/send.mjs passes the build's wire.js)
import { pathToFileURL } from 'node:url';

const [wireModule, socket, target, text] = process.argv.slice(2);
if (!wireModule || !socket || !target || !text) {
  console.error('usage: node bench/send-floor.mjs WIRE_MODULE SOCKET TARGET TEXT (bench/send.mjs runs it; it is not a bench of its own)');
  process.exit(2);
}
const { runOverSocket, socketPath } = await import(pathToFileURL(wireModule).href);
const path = socketPath(socket, process.env, process.getuid());
if (!path) throw new Error(`no tmux socket ${socket} that the client protocol may use`);
const tmux = async (args) => {
  const result = await runOverSocket(path, ['tmux', ...args], args, { timeoutMs: 10_000, env: process.env });
  if (!result || result.status !== 0) throw new Error(`tmux ${args[0]} failed: ${result?.stderr ?? 'the binary would have to run it'}`);
  return result.stdout;
};
// The highest ack number on the screen: a count of ack lines could change when one scrolls off.
const lastAck = (screen) => Math.max(0, ...Array.from(screen.matchAll(/\[stub\] ack seq=(\d+)/g), (m) => Number(m[1])));

const before = lastAck(await tmux(['capture-pane', '-p', '-t', target]));
await tmux(['send-keys', '-t', target, '-l', text, ';', 'send-keys', '-t', target, 'Enter']);
const deadline = Date.now() + 10_000;
while (lastAck(await tmux(['capture-pane', '-p', '-t', target])) <= before) {
  if (Date.now() > deadline) throw new Error('the stub did not acknowledge within 10 s');
  await new Promise((resolve) => setTimeout(resolve, 2));
}
