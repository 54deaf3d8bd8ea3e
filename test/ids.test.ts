/** Generated ids (workflows, tasks, keys…) are passed on command lines: none may look like an option. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../src/util/ids.js';

void describe('newId', () => {
  void it('gives 20 URL-safe characters, never starting with "-", and no repeats', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{19}$/, id);
    assert.equal(new Set(ids).size, ids.length);
  });
});
