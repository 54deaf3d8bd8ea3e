import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowdError } from '../src/errors.js';
import { formatTimeValue, parseTimeValue } from '../src/template/time-value.js';

const FIELD = 'n1.user_inputs.node_timeout';

function fails(value: string, message: string, opts?: Parameters<typeof parseTimeValue>[2]): void {
  assert.throws(
    () => parseTimeValue(value, FIELD, opts),
    (e: unknown) => e instanceof FlowdError && e.kind === 'validation' && e.message === message,
  );
}

describe('parseTimeValue', () => {
  it('accepts every OpenSearch unit', () => {
    const cases: Array<[string, number]> = [
      ['2000000nanos', 2],
      ['1500micros', 1],
      ['250ms', 250],
      ['20s', 20_000],
      ['1m', 60_000],
      ['2h', 7_200_000],
      ['1d', 86_400_000],
      ['0', 0],
      ['0s', 0],
      ['-1', -1],
      [' 10S ', 10_000],
      ['10 s', 10_000],
    ];
    for (const [input, ms] of cases) assert.equal(parseTimeValue(input, FIELD), ms, input);
  });

  it('rejects negative values with the Flow Framework message', () => {
    fails('-5s', `Failed to parse timeout value [-5s] for field [${FIELD}]. Must be positive`);
    fails('-1', `Failed to parse timeout value [-1] for field [${FIELD}]. Must be positive`, { allowMinusOne: false });
  });

  it('rejects garbage clearly', () => {
    const unit = (v: string) =>
      `Failed to parse timeout value [${v}] for field [${FIELD}]: the unit is missing or unrecognized (use nanos, micros, ms, s, m, h or d, e.g. "30s").`;
    for (const v of ['', 'abc', '10', '10x', 's', '5 minutes', '10sec']) fails(v, unit(v));
    fails('1.5s', `Failed to parse timeout value [1.5s] for field [${FIELD}]: fractional time values are not supported.`);
    fails('1e3s', `Failed to parse timeout value [1e3s] for field [${FIELD}]: the amount is not a number.`);
    fails('99999999999999d', `Failed to parse timeout value [99999999999999d] for field [${FIELD}]: the value is too large.`);
  });
});

describe('formatTimeValue', () => {
  it('writes the shortest exact form', () => {
    assert.equal(formatTimeValue(60_000), '1m');
    assert.equal(formatTimeValue(15_000), '15s');
    assert.equal(formatTimeValue(250), '250ms');
    assert.equal(formatTimeValue(90_000), '90s');
    assert.equal(formatTimeValue(7_200_000), '2h');
    assert.equal(formatTimeValue(86_400_000), '1d');
    assert.equal(formatTimeValue(0), '0ms');
    assert.equal(formatTimeValue(-1), '-1');
    assert.equal(formatTimeValue(0.5), '500micros');
  });

  it('round-trips through parseTimeValue', () => {
    for (const ms of [1, 999, 1000, 61_000, 3_600_000, 123_456_789]) {
      assert.equal(parseTimeValue(formatTimeValue(ms), 'f'), ms);
    }
  });
});
