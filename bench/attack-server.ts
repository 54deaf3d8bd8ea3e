/**
 * The "remote API" an attacker points flowd's outbound calls at, on 127.0.0.1: `GET /huge?mb=N`
 * streams N MB (at most 200), `GET /slow?s=N` sends its body one byte a second for N seconds
 * (at most 60). It counts what it served.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AttackServer {
  url: string;
  served: { huge: number; slow: number; hugeBytes: number };
  close(): Promise<void>;
}

const MB = Buffer.alloc(1024 * 1024, 'x');

export async function startAttackServer(): Promise<AttackServer> {
  const served = { huge: 0, slow: 0, hugeBytes: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/huge') {
      served.huge++;
      const mb = Math.min(200, Math.max(1, Number(u.searchParams.get('mb') ?? 50) || 50));
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(mb * MB.length) });
      let left = mb;
      // Honour back-pressure: a reader that stops reading (a size cap) stops the stream too.
      const pump = (): void => {
        while (left > 0) {
          left--;
          served.hugeBytes += MB.length;
          if (!res.write(MB)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (left = 0));
      pump();
      return;
    }
    if (u.pathname === '/slow') {
      served.slow++;
      let left = Math.min(60, Math.max(1, Number(u.searchParams.get('s') ?? 20) || 20));
      res.writeHead(200, { 'content-type': 'text/plain' });
      const tick = setInterval(() => {
        if (left-- <= 0 || res.destroyed) {
          clearInterval(tick);
          timers.delete(tick);
          res.end();
          return;
        }
        res.write('.');
      }, 1000);
      timers.add(tick);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    async close() {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
