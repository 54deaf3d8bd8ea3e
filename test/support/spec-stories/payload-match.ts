/**
 * A story's expected `payload` against the actual one, with the official runner's semantics
 * (a json-diff of expected → actual where only changed and missing values count): every value
 * the story names must be there and equal; anything else the server adds is fine; arrays
 * compare index by index, extra items allowed.
 */

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const child = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/** `missing <path>='<value>'` for every leaf of an expected value that is absent. */
function missing(path: string, expected: unknown): string[] {
  if (isRecord(expected) && Object.keys(expected).length > 0)
    return Object.entries(expected).flatMap(([k, v]) => missing(child(path, k), v));
  if (Array.isArray(expected) && expected.length > 0) return expected.flatMap((v, i) => missing(`${path}[${i}]`, v));
  return [`missing ${path}='${show(expected)}'`];
}

/** What differs, one line each (`expected hits.hits[0]._id='a', got 'b'`); empty when the payload matches. */
export function payloadMismatches(expected: unknown, actual: unknown, path = ''): string[] {
  const where = path === '' ? 'payload' : path;
  if (isRecord(expected)) {
    if (!isRecord(actual)) return [`expected ${where}='${show(expected)}', got '${show(actual)}'`];
    return Object.entries(expected).flatMap(([k, v]) =>
      Object.hasOwn(actual, k) ? payloadMismatches(v, actual[k], child(path, k)) : missing(child(path, k), v),
    );
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`expected ${where}='${show(expected)}', got '${show(actual)}'`];
    return expected.flatMap((v, i) => (i < actual.length ? payloadMismatches(v, actual[i], `${path}[${i}]`) : missing(`${path}[${i}]`, v)));
  }
  return expected === actual ? [] : [`expected ${where}='${show(expected)}', got '${show(actual)}'`];
}
