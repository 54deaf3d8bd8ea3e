/** The one notification hub (workflow state and runtime status changes): per-turn delivery, the cluster bridge, waiting. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EventHub } from '../src/util/event-hub.js';

void describe('EventHub', () => {
  void it('delivers a burst on one key once, at the end of the turn, to its listeners and to listeners of every key', async () => {
    const hub = new EventHub();
    const a: string[] = [];
    const all: string[] = [];
    hub.subscribe('w1', () => a.push('w1'));
    hub.subscribeAll((k) => all.push(k));
    hub.notify('w1');
    hub.notify('w2');
    hub.notify('w1');
    assert.deepEqual(a, [], 'nothing before the turn ends');
    await nextTurn();
    assert.deepEqual(a, ['w1']);
    assert.deepEqual(all, ['w1', 'w2']);
    hub.notify('w1');
    await nextTurn();
    assert.deepEqual(a, ['w1', 'w1'], 'a later turn is delivered again');
  });

  void it('stops delivering to a listener once unsubscribed', async () => {
    const hub = new EventHub();
    let n = 0;
    let m = 0;
    const off = hub.subscribe('w', () => n++);
    const offAll = hub.subscribeAll(() => m++);
    off();
    offAll();
    off(); // twice is harmless
    hub.notify('w');
    await nextTurn();
    assert.equal(n, 0);
    assert.equal(m, 0);
  });

  void it('forwards local changes once per key and turn, and never forwards a remote one', async () => {
    const hub = new EventHub();
    const forwarded: string[] = [];
    const heard: string[] = [];
    hub.setForwarder((k) => forwarded.push(k));
    hub.subscribeAll((k) => heard.push(k));
    hub.notify('local');
    hub.notify('local');
    hub.deliverRemote('remote');
    hub.deliverRemote('both');
    hub.notify('both');
    await nextTurn();
    assert.deepEqual(forwarded.sort(), ['both', 'local']);
    assert.deepEqual(heard.sort(), ['both', 'local', 'remote'], 'local listeners hear both kinds, each key once');
  });

  void it('keeps delivering to the other listeners when one throws', async () => {
    const hub = new EventHub();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      let reached = 0;
      hub.subscribe('w', () => {
        throw new Error('listener broke');
      });
      hub.subscribe('w', () => reached++);
      hub.subscribeAll(() => reached++);
      hub.notify('w');
      await nextTurn();
      await nextTurn(); // warnings are emitted on the next tick
      assert.equal(reached, 2);
      assert.ok(
        warnings.some((w) => w.includes('listener broke')),
        warnings.join('\n'),
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  void it('a change made by a listener is delivered in a later turn', async () => {
    const hub = new EventHub();
    const seen: string[] = [];
    hub.subscribe('a', () => {
      seen.push('a');
      hub.notify('b');
    });
    hub.subscribe('b', () => seen.push('b'));
    hub.notify('a');
    await nextTurn();
    assert.deepEqual(seen, ['a']);
    await nextTurn();
    assert.deepEqual(seen, ['a', 'b']);
  });

  void it('waitUntil: true at once when the check holds, true after the change that makes it hold, false on timeout or abort', async () => {
    const hub = new EventHub();
    assert.equal(await hub.waitUntil('w', () => Promise.resolve(true), 1000), true);

    let done = false;
    let checks = 0;
    const waiting = hub.waitUntil(
      'w',
      () => {
        checks++;
        return Promise.resolve(done);
      },
      5000,
    );
    await nextTurn();
    hub.notify('other');
    await nextTurn();
    done = true;
    hub.notify('w');
    assert.equal(await waiting, true);
    assert.ok(checks >= 3, `checked ${checks} times`);

    const started = Date.now();
    assert.equal(await hub.waitUntil('w', () => Promise.resolve(false), 50), false);
    assert.ok(Date.now() - started >= 45);

    const ac = new AbortController();
    const aborted = hub.waitUntil('w', () => Promise.resolve(false), 60_000, ac.signal);
    ac.abort();
    assert.equal(await aborted, false);
  });
});
