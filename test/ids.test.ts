/** Generated ids (workflows, tasks, keys…) are passed on command lines: none may look like an option. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId, randomName } from '../src/util/ids.js';

void describe('newId', () => {
  void it('gives 20 URL-safe characters, never starting with "-", and no repeats', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{19}$/, id);
    assert.equal(new Set(ids).size, ids.length);
  });

  void it('sorts ids made later after ids made earlier (byte order), so indexes on them stay local', async () => {
    const first = newId();
    await sleep(5);
    const later = newId();
    assert.ok(first.slice(0, 8) < later.slice(0, 8), `${first} then ${later}`);
    assert.ok(Buffer.compare(Buffer.from(first), Buffer.from(later)) < 0);
    // Ids of one moment share their time prefix and differ in the random part.
    const burst = Array.from({ length: 100 }, () => newId());
    assert.ok(new Set(burst.map((id) => id.slice(0, 7))).size <= 2, 'a burst shares its prefix');
    assert.equal(new Set(burst.map((id) => id.slice(8))).size, 100);
  });

  void it('randomName gives names that differ even when made at the same moment', () => {
    const names = Array.from({ length: 2000 }, () => randomName(8));
    for (const n of names) assert.match(n, /^[A-Za-z0-9_][A-Za-z0-9_-]{7}$/, n);
    assert.ok(new Set(names).size > 1990, 'random, not time-based');
    assert.equal(randomName(6).length, 6);
  });
});
