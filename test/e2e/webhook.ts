import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

export interface WebhookPost {
  path: string;
  type: string | undefined;
  body: Record<string, unknown>;
}

/** A loopback webhook receiver that records every POST (JSON body), closed in the test's finaliser. */
export async function webhookServer(): Promise<{ url: string; posts: WebhookPost[] }> {
  const posts: WebhookPost[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', type: req.headers['content-type'], body: JSON.parse(text) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posts };
}
