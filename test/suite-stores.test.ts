/**
 * `npm test`'s choice of suites for the PostgreSQL pass (test/support/suite-stores.ts): every
 * suite that starts a node is in it, found from its imports, and nothing is listed by hand.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { sourceRunsOnPostgres, suitePasses, supportImports } from './support/suite-stores.js';

void describe('suite selection for the PostgreSQL pass', () => {
  const passes = suitePasses();

  void it('runs every suite on SQLite, and on PostgreSQL each suite that calls a node starter', () => {
    assert.ok(passes.sqlite.length > 30, `found ${passes.sqlite.length} suites`);
    // Cross-check with another reading of the same files: a call of a node starter.
    const calls = /\b(?:startTestNode|spawnFlowd|spawnBuiltFlowd|runCli)\(/;
    for (const file of passes.sqlite) {
      const source = readFileSync(file, 'utf8');
      if (calls.test(source)) assert.ok(passes.postgres.includes(file), `${file} starts a node but is not in the PostgreSQL pass`);
    }
    for (const file of passes.postgres) assert.ok(passes.sqlite.includes(file), `${file} runs on PostgreSQL only`);
  });

  void it('includes the node-level suites that once ran only on SQLite, and leaves pure unit and store-matrix suites to one run', () => {
    for (const name of [
      'cli',
      'dashboard',
      'metrics',
      'examples',
      'crash-recovery',
      'runtime-crash',
      'openapi',
      'hardening/poison-work',
      'hardening/http-fuzz',
    ]) {
      assert.ok(passes.postgres.includes(`test/${name}.test.ts`), name);
    }
    for (const name of ['template-parser', 'ids', 'store-contract', 'task-store', 'hardening/poison-work-store']) {
      assert.ok(passes.sqlite.includes(`test/${name}.test.ts`), name);
      assert.ok(!passes.postgres.includes(`test/${name}.test.ts`), `${name} runs once`);
    }
    assert.deepEqual(passes.cluster, ['test/cluster/cluster-failover.test.ts', 'test/cluster/postgres-restart.test.ts']);
  });

  void it('reads named, renamed, type-only, multi-line and namespace imports', () => {
    // Built from pieces, so this file's own source holds no import the selection would read.
    const from = (path: string): string => `from '${path.replace('@', 'support')}'`;
    const src = [
      `import { FF, startTestNode as start } ${from('./@/flowd-harness.js')};`,
      `import type { TestNode } ${from('../@/flowd-harness.js')};`,
      `import {\n  storeMatrix,\n  type StoreKind,\n} ${from('./@/store-matrix.js')};`,
      `import { startTestNode } ${from('../src/elsewhere.js')};`,
    ].join('\n');
    assert.deepEqual([...supportImports(src)].sort(), ['FF', 'StoreKind', 'TestNode', 'startTestNode', 'storeMatrix']);
    assert.equal(sourceRunsOnPostgres(src), true);
    assert.equal(sourceRunsOnPostgres(`import { storeMatrix } ${from('./@/store-matrix.js')};`), false);
    assert.equal(sourceRunsOnPostgres(`import { TEST_ON_POSTGRES } ${from('./@/flowd-harness.js')};`), true);
    assert.equal(sourceRunsOnPostgres(`import * as harness ${from('./@/flowd-harness.js')};`), true);
    assert.equal(sourceRunsOnPostgres(`import * as rows ${from('./@/http-bodies.js')};`), false);
    assert.equal(sourceRunsOnPostgres(`import { startTestNode } ${from('../src/elsewhere.js')};`), false);
  });

  void it('leaves this suite (a unit suite) out of the PostgreSQL pass', () => {
    assert.ok(passes.sqlite.includes('test/suite-stores.test.ts'));
    assert.ok(!passes.postgres.includes('test/suite-stores.test.ts'));
  });
});
