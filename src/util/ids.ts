import { randomBytes, randomFillSync } from 'node:crypto';

/** Random bytes drawn in blocks: one system call per 256 ids instead of one per id. */
const RANDOM_BYTES = 9;
const pool = Buffer.alloc(RANDOM_BYTES * 256);
let offset = pool.length;

/** Base 62 in ASCII order, so that a longer time sorts after a shorter one byte by byte. */
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TIME_CHARS = 8; // 62^8 ms: until the year 8900
let prefixMs = -1;
let prefix = '';

function timePrefix(ms: number): string {
  if (ms !== prefixMs) {
    let n = ms;
    let s = '';
    for (let i = 0; i < TIME_CHARS; i++) {
      s = (B62[n % 62] as string) + s;
      n = Math.floor(n / 62);
    }
    prefixMs = ms;
    prefix = s;
  }
  return prefix;
}

/**
 * 20-char URL-safe ids, time-ordered like OpenSearch's auto-generated document ids: 8
 * characters of creation time (ms, base 62) then 72 random bits. Ids made close together share
 * a prefix, so a database index on them takes new entries in a few hot pages instead of at
 * random places: on PostgreSQL that cuts the tasks table's write time markedly (each
 * task's row is written three times, and each write adds an entry to the task-id index).
 * Never starting with "-": the CLI (and most command-line tools) would read such an id as an option.
 */
export function newId(): string {
  if (offset + RANDOM_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = timePrefix(Date.now()) + pool.toString('base64url', offset, offset + RANDOM_BYTES);
  offset += RANDOM_BYTES;
  return id;
}

/**
 * `length` random URL-safe characters, never starting with "-": for names that must differ
 * between processes started at the same moment (node ids, lease owners), where a time-ordered
 * id's leading characters would be the same.
 */
export function randomName(length: number): string {
  for (;;) {
    const s = randomBytes(Math.ceil((length * 3) / 4))
      .toString('base64url')
      .slice(0, length);
    if (!s.startsWith('-')) return s;
  }
}
