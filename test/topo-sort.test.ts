import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { topologicalOrder, topologicalOrderOf } from '../src/util/topo-sort.js';

void describe('topological sort', () => {
  void it('orders by dependencies, ties first-in first-out in the order written', () => {
    // 0 → 2, 1 → 2, 2 → 3; 4 stands alone.
    assert.deepEqual(topologicalOrder([[2], [2], [3], [], []]), [0, 1, 4, 2, 3]);
    assert.deepEqual(topologicalOrder([]), []);
  });

  void it('counts a repeated edge on both sides', () => {
    assert.deepEqual(topologicalOrder([[1, 1], []]), [0, 1]);
  });

  void it('leaves out what lies on a cycle or downstream of one', () => {
    // 0 → 1 → 2 → 1, 2 → 3
    assert.deepEqual(topologicalOrder([[1], [2], [1, 3], []]), [0]);
  });

  void it('orders keyed nodes, ignoring edges to or from unknown keys', () => {
    const edges = [
      { source: 'b', dest: 'a' },
      { source: 'ghost', dest: 'c' },
      { source: 'a', dest: 'nowhere' },
    ];
    assert.deepEqual(topologicalOrderOf(['a', 'b', 'c'], edges), ['b', 'c', 'a']);
  });
});
