/** Start-up configuration: defaults < file < environment < flags, validated against its JSON Schema. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultConfig, resolveConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'flowd-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void describe('resolveConfig', () => {
  void it('gives the defaults, with dataDir made absolute, frozen', () => {
    const c = resolveConfig({ env: {} });
    assert.deepEqual({ ...c }, { ...defaultConfig(), dataDir: resolve(defaultConfig().dataDir) });
    assert.ok(Object.isFrozen(c));
  });

  void it('layers the file under the environment under the flags', () => {
    const yaml = join(dir, 'flowd.yaml');
    writeFileSync(yaml, 'port: 9300\nhost: 0.0.0.0\nmaxAttempts: 5\nlogLevel: warn\n');
    const fromFile = resolveConfig({ file: yaml, env: {} });
    assert.equal(fromFile.port, 9300);
    assert.equal(fromFile.host, '0.0.0.0');

    const env = {
      FLOWD_CONFIG: yaml,
      FLOWD_PORT: '9400',
      FLOWD_MAX_ATTEMPTS: '7',
      FLOWD_SECURITY: 'disabled',
      FLOWD_CUSTOM_BLOCK_DIRS: '/a:/b, /c',
    };
    const c = resolveConfig({ env, flags: { port: 9500, logLevel: undefined } });
    assert.equal(c.port, 9500, 'a flag beats the environment');
    assert.equal(c.maxAttempts, 7, 'the environment beats the file');
    assert.equal(c.host, '0.0.0.0', 'the file beats the defaults');
    assert.equal(c.logLevel, 'warn', 'an undefined flag leaves the value below it');
    assert.equal(c.securityEnabled, false);
    assert.deepEqual(c.customBlockDirs, ['/a', '/b', '/c']);

    const json = join(dir, 'flowd.json');
    writeFileSync(json, JSON.stringify({ opensearchUrl: 'http://opensearch:9200', outboundAllow: ['api.example.com'] }));
    const j = resolveConfig({ file: json, env: {} });
    assert.equal(j.opensearchUrl, 'http://opensearch:9200');
    assert.deepEqual(j.outboundAllow, ['api.example.com']);
  });

  void it('names each wrong setting and what it must be', () => {
    const fails = (sources: Parameters<typeof resolveConfig>[0], ...parts: RegExp[]): void => {
      assert.throws(
        () => resolveConfig(sources),
        (e: Error) => {
          assert.match(e.message, /^Invalid configuration: /);
          for (const p of parts) assert.match(e.message, p);
          return true;
        },
      );
    };
    fails({ env: { FLOWD_PORT: '70000' } }, /port: must be at most 65535/);
    fails({ env: { FLOWD_ADMIN_PASSWORD: 'short' } }, /adminPassword: FLOWD_ADMIN_PASSWORD must be at least 8 characters/);
    fails({ env: { FLOWD_LOG_LEVEL: 'loud' } }, /logLevel: must be one of fatal, error, warn, info, debug, trace, silent/);
    fails({ env: { FLOWD_OPENSEARCH_URL: 'not a url' } }, /opensearchUrl: must be a URL/);
    fails(
      { env: {}, flags: { port: 1.5, bodyLimitBytes: 0, heartbeatMs: 10 } },
      /port: expected integer, got number/,
      /bodyLimitBytes: must be greater than 0/,
      /heartbeatMs: must be at least 50/,
    );
    fails({ env: {}, flags: { customBlockDirs: [''] } }, /customBlockDirs\.0: must be at least 1 character/);
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'prot: 9200\ndemo: "yes"\n');
    fails({ file, env: {} }, /\(root\): unknown setting\(s\) "prot"/, /demo: expected boolean, got string/);
  });

  void it('names the environment variable a value could not be read from', () => {
    assert.throws(() => resolveConfig({ env: { FLOWD_PORT: 'abc' } }), /Invalid FLOWD_PORT: expected an integer, got "abc"/);
    assert.throws(
      () => resolveConfig({ env: { FLOWD_FILTER_BY_BACKEND_ROLES: 'maybe' } }),
      /Invalid FLOWD_FILTER_BY_BACKEND_ROLES: expected a boolean/,
    );
  });

  void it('refuses a config file that is not an object, or cannot be read', () => {
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    assert.throws(() => resolveConfig({ file: list, env: {} }), /must contain an object/);
    assert.throws(() => resolveConfig({ file: join(dir, 'missing.yaml'), env: {} }), /Cannot read config file/);
  });
});
