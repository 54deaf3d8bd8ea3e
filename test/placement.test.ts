/** Placement of service instances over cluster nodes: a pure function every node computes alike. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { place } from '../src/runtime/placement.js';

const nodes = (...ids: string[]) => ids.map((nodeId) => ({ nodeId, maxInstances: 100 }));
const count = (p: ReturnType<typeof place>, node: string, svc: string): number => p.shares.get(node)?.get(svc) ?? 0;

describe('placement', () => {
  it('spreads the replicas of a service over the nodes', () => {
    const p = place([{ key: 'a', replicas: 6 }], nodes('n1', 'n2', 'n3'));
    assert.deepEqual(
      ['n1', 'n2', 'n3'].map((n) => count(p, n, 'a')),
      [2, 2, 2],
    );
    assert.equal(p.unplaced.size, 0);
  });

  it('puts one-replica services on different nodes rather than all on the first', () => {
    const services = Array.from({ length: 9 }, (_, i) => ({ key: `svc-${i}`, replicas: 1 }));
    const p = place(services, nodes('n1', 'n2', 'n3'));
    const perNode = ['n1', 'n2', 'n3'].map((n) => [...(p.shares.get(n)?.values() ?? [])].reduce((a, b) => a + b, 0));
    assert.deepEqual(perNode, [3, 3, 3]);
  });

  it('respects each node’s capacity and reports what fits nowhere', () => {
    const p = place(
      [{ key: 'a', replicas: 5 }],
      [
        { nodeId: 'n1', maxInstances: 1 },
        { nodeId: 'n2', maxInstances: 2 },
      ],
    );
    assert.equal(count(p, 'n1', 'a'), 1);
    assert.equal(count(p, 'n2', 'a'), 2);
    assert.equal(p.unplaced.get('a'), 2);
  });

  it('gives the same answer whatever order the nodes and services are listed in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^n[0-9]{1,2}$/), { minLength: 1, maxLength: 6 }),
        fc.array(fc.record({ key: fc.stringMatching(/^s[a-z0-9]{1,6}$/), replicas: fc.integer({ min: 0, max: 8 }) }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 20 }),
        (ids, rawServices, cap) => {
          const services = [...new Map(rawServices.map((s) => [s.key, s])).values()];
          const ns = ids.map((nodeId) => ({ nodeId, maxInstances: cap }));
          const a = place(services, ns);
          const b = place([...services].reverse(), [...ns].reverse());
          for (const n of ids) assert.deepEqual(Object.fromEntries(a.shares.get(n) ?? []), Object.fromEntries(b.shares.get(n) ?? []));
          for (const s of services) {
            let placed = a.unplaced.get(s.key) ?? 0;
            for (const n of ids) placed += count(a, n, s.key);
            assert.equal(placed, s.replicas, 'every replica placed once or reported unplaced');
          }
          for (const n of ids) assert.ok([...(a.shares.get(n)?.values() ?? [])].reduce((x, y) => x + y, 0) <= cap, 'capacity respected');
        },
      ),
    );
  });

  it('re-places a dead node’s instances on the survivors', () => {
    const before = place([{ key: 'a', replicas: 3 }], nodes('n1', 'n2', 'n3'));
    const after = place([{ key: 'a', replicas: 3 }], nodes('n1', 'n2'));
    assert.equal(count(before, 'n3', 'a'), 1);
    assert.equal(count(after, 'n1', 'a') + count(after, 'n2', 'a'), 3);
  });
});
