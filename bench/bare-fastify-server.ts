/**
 * The baseline server of bench/status-throughput.ts, run as its own process: bare Fastify (no
 * logger, no hooks) answering the same `_status` URL with the same JSON body flowd answers.
 * The body comes in the BARE_BODY environment variable, is parsed once, and Fastify
 * serializes it on every request as any route returning an object does. Prints
 * `{"url": …}` on stdout once listening; SIGTERM closes it.
 */
import Fastify from 'fastify';

const raw = process.env['BARE_BODY'];
if (raw === undefined) throw new Error('bare-fastify-server: set BARE_BODY to the JSON body to answer');
const body = JSON.parse(raw) as Record<string, unknown>;

const app = Fastify({ logger: false });
app.get('/_plugins/_flow_framework/workflow/:workflow_id/_status', async () => body);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ url }));
process.once('SIGTERM', () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
