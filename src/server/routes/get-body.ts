/**
 * A request body on GET. OpenSearch takes the search body on `GET …/_search` as on POST (the
 * official clients and the API-spec stories send it so); Fastify reads no body for GET at all.
 * `readGetBody`, a route's preValidation hook, reads it as Fastify reads every other body:
 * raw text (`req.body`, decoded later by the route like a POST body), at most the route's
 * bodyLimit bytes (413), and exactly Content-Length bytes (400).
 */
import type { FastifyRequest } from 'fastify';
import { errorCodes } from 'fastify';

export function readGetBody(req: FastifyRequest): Promise<void> {
  const declared = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (declared === undefined || declared === '0')) return Promise.resolve();
  const limit = req.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY;
  const length = declared === undefined ? Number.NaN : Number(declared);
  if (length > limit) return Promise.reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
  const payload = req.raw;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    function onData(chunk: Buffer | string): void {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += b.length;
      if (received > limit) {
        // Stop listening without destroying the stream: the 413 still has to be sent.
        stop();
        reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      chunks.push(b);
    }
    function onEnd(): void {
      stop();
      if (!Number.isNaN(length) && received !== length) {
        reject(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        return;
      }
      req.body = Buffer.concat(chunks).toString('utf8');
      resolve();
    }
    function onError(e: Error): void {
      stop();
      reject(Object.assign(e, { statusCode: 400 }));
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  });
}
