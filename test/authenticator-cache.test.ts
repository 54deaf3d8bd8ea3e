/**
 * The Authenticator's credential cache, on both stores: a credential in use stays verified
 * (re-read from the store, never scrypt again) past the cache lifetime, so it keeps working
 * while its user name is throttled by someone else's failed guesses; one left unused for the
 * lifetime is verified afresh (and then meets the throttle); a password changed in the store
 * ends a cached credential at its next re-read.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '../src/server/auth/authenticator.js';
import { storeMatrix, withOwnTestStore } from './support/store-matrix.js';
import { hashPassword } from '../src/server/auth/password.js';

const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
const statusOf = async (p: Promise<unknown>): Promise<number | 'ok'> =>
  p.then(
    () => 'ok' as const,
    (e: unknown) => (e as { status?: number }).status ?? -1,
  );

for (const { kind, skip } of await storeMatrix()) {
  void describe(`Authenticator cache (${kind})`, { skip }, () => {
    void it('keeps a credential in use past the cache lifetime, re-verifies an idle one', async () => {
      await withOwnTestStore(kind, async (store) => {
        let now = 1_000_000;
        const auth = new Authenticator(store, { now: () => now, throttle: { maxFailures: 2, windowMs: 600_000 } });
        await auth.putUser('alice', 'right-password-1', [], ['all_access'], {});
        const good = basic('alice', 'right-password-1');
        assert.equal((await auth.authenticate(good, '10.0.0.1')).name, 'alice');

        // Someone else guesses alice's password until her name is throttled.
        assert.equal(await statusOf(auth.authenticate(basic('alice', 'guess-1'), '10.0.0.2')), 401);
        assert.equal(await statusOf(auth.authenticate(basic('alice', 'guess-2'), '10.0.0.2')), 401);
        assert.equal(await statusOf(auth.authenticate(basic('alice', 'guess-3'), '10.0.0.2')), 429);

        // Alice keeps working for three cache lifetimes: every use re-reads the store at most.
        for (let t = 0; t < 180_000; t += 4_000) {
          now += 4_000;
          assert.equal(await statusOf(auth.authenticate(good, '10.0.0.1')), 'ok', `at +${t / 1000 + 4} s`);
        }

        // Unused for longer than the lifetime: verified afresh, which the throttle refuses.
        now += 61_000;
        assert.equal(auth.cached(good), undefined);
        assert.equal(await statusOf(auth.authenticate(good, '10.0.0.1')), 429);
      });
    });

    void it('ends a cached credential at its next re-read once the stored password changed', async () => {
      await withOwnTestStore(kind, async (store) => {
        let now = 1_000_000;
        const auth = new Authenticator(store, { now: () => now });
        await auth.putUser('bob', 'first-password-1', [], ['all_access'], {});
        const old = basic('bob', 'first-password-1');
        assert.equal((await auth.authenticate(old)).name, 'bob');
        // Changed behind this authenticator's back (another node).
        const stored = await store.getUser('bob');
        assert.ok(stored);
        await store.putUser({ ...stored, passwordHash: await hashPassword('second-password-2') });
        now += 1_000;
        assert.equal(auth.cached(old)?.name, 'bob', 'within the re-read interval the cache still answers');
        now += 5_000;
        assert.equal(auth.cached(old), undefined);
        assert.equal(await statusOf(auth.authenticate(old)), 401);
        assert.equal((await auth.authenticate(basic('bob', 'second-password-2'))).name, 'bob');
      });
    });
  });
}
