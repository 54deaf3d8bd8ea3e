/**
 * AES-256-GCM encryption of secrets at rest (connector credentials, any step input marked
 * secret, substitution params of a durable run). The 32-byte master key lives in the data dir
 * (mode 0600) or comes from FLOWD_MASTER_KEY (base64).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tightenFile, writePrivateFile } from './private-files.js';

const PREFIX = 'enc:v1:';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error(`master key must be 32 bytes, got ${key.length}`);
    this.#key = key;
  }

  /** Key from FLOWD_MASTER_KEY, else `<dataDir>/master.key`, created on first start. */
  static fromDataDir(dataDir: string, envKey: string | undefined): SecretBox {
    if (envKey) return new SecretBox(Buffer.from(envKey, 'base64'));
    const file = join(dataDir, 'master.key');
    if (existsSync(file)) {
      tightenFile(file);
      return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
    }
    const key = randomBytes(32);
    writePrivateFile(file, key.toString('base64') + '\n');
    return new SecretBox(key);
  }

  static isSealed(value: unknown): value is string {
    return typeof value === 'string' && value.startsWith(PREFIX);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return PREFIX + Buffer.concat([iv, tag, ct]).toString('base64');
  }

  open(sealed: string): string {
    if (!SecretBox.isSealed(sealed)) return sealed;
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const iv = raw.subarray(0, 12);
    const tag = raw.subarray(12, 28);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }

  sealJson(value: unknown): string {
    return this.seal(JSON.stringify(value));
  }

  openJson<T>(sealed: string): T {
    return JSON.parse(this.open(sealed)) as T;
  }
}
