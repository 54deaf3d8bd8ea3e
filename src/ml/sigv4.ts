/**
 * AWS Signature Version 4 for `aws_sigv4` connectors (Bedrock, SageMaker…), with node:crypto
 * only. Signs the headers flowd sends plus `host`, `x-amz-date` and, for temporary
 * credentials, `x-amz-security-token`. Paths are encoded per segment once on the wire and
 * twice in the canonical request, as AWS expects of every service but S3 (this matters for
 * Bedrock model ids such as `anthropic.claude-v2:1`).
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
}

export interface SigV4Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** Signing time (now by default; fixed in tests). */
  date?: Date;
}

export interface SignedRequest {
  /** The URL to send (path re-encoded the way it was signed). */
  url: string;
  /** The headers to send: the given ones plus the signature headers (host is set by fetch). */
  headers: Record<string, string>;
  /** Exposed for tests and debugging (never contains the secret key). */
  signedHeaders: string;
  signature: string;
}

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding: everything but A-Z a-z 0-9 - _ . ~ */
const awsEncode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const amzDate = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

export function signSigV4(req: SigV4Request): SignedRequest {
  const url = new URL(req.url);
  const wireSegments = url.pathname.split('/').map((seg) => awsEncode(safeDecode(seg)));
  url.pathname = wireSegments.join('/');
  const canonicalUri = wireSegments.map(awsEncode).join('/') || '/';
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([k, v]) => [awsEncode(k), awsEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');

  const stamp = amzDate(req.date ?? new Date());
  const day = stamp.slice(0, 8);
  const headers: Record<string, string> = { ...req.headers, 'x-amz-date': stamp };
  if (req.credentials.sessionToken) headers['x-amz-security-token'] = req.credentials.sessionToken;

  const canonical = new Map<string, string>([['host', url.host]]);
  for (const [k, v] of Object.entries(headers)) canonical.set(k.toLowerCase(), v.trim().replace(/\s+/g, ' '));
  const names = [...canonical.keys()].sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri,
    canonicalQuery,
    names.map((n) => `${n}:${canonical.get(n) ?? ''}\n`).join(''),
    signedHeaders,
    sha256Hex(req.body ?? ''),
  ].join('\n');

  const scope = `${day}/${req.region}/${req.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${req.credentials.secretKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, req.region), req.service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');

  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${req.credentials.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { url: url.toString(), headers, signedHeaders, signature };
}
