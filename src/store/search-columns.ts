/**
 * Where each indexed search field is read (migration 10 and the base tables): SQLite's generated
 * columns, and on PostgreSQL the very expressions its expression indexes are built on (a query
 * uses such an index only when it repeats the expression).
 */
import type { SearchField, StateField, TemplateField } from './search-plan.js';

export const TEMPLATE_SEARCH_COLUMNS: Readonly<Record<TemplateField, string>> = {
  id: 'id',
  name: 's_name',
  use_case: 's_use_case',
  description: "json_extract(template, '$.description')",
  created_time: 's_created_time',
  last_updated_time: 's_last_updated_time',
  last_provisioned_time: 's_last_provisioned_time',
};

/** JavaScript's trim() characters, as a PostgreSQL string. */
const PG_TRIM = `E'\\u0009\\u000a\\u000b\\u000c\\u000d\\u0020\\u00a0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005\\u2006\\u2007\\u2008\\u2009\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff'`;
/** A lone surrogate escape, which PostgreSQL's JSON parser refuses: such a template reads as NULLs. */
export const PG_UNPARSABLE = `template ~ '\\\\u[dD][89a-fA-F]'`;
const pgText = (f: string): string =>
  `((CASE WHEN ${PG_UNPARSABLE} THEN NULL ELSE btrim((template::jsonb)->>'${f}', ${PG_TRIM}) END) COLLATE "C")`;
const pgNumber = (f: string): string =>
  `(CASE WHEN ${PG_UNPARSABLE} THEN NULL WHEN jsonb_typeof((template::jsonb)->'${f}') = 'number' THEN ((template::jsonb)->>'${f}')::double precision END)`;

export const PG_TEMPLATE_SEARCH_COLUMNS: Readonly<Record<TemplateField, string>> = {
  id: 'id',
  name: pgText('name'),
  use_case: pgText('use_case'),
  description: "((template::jsonb)->>'description')",
  created_time: pgNumber('created_time'),
  last_updated_time: pgNumber('last_updated_time'),
  last_provisioned_time: pgNumber('last_provisioned_time'),
};

export const STATE_SEARCH_COLUMNS: Readonly<Record<StateField, string>> = {
  workflow_id: 'workflow_id',
  state: 'state',
  progress: 'progress',
  start_time: 'start_time',
  end_time: 'end_time',
};

export const NUMERIC_SEARCH_FIELDS: ReadonlySet<SearchField> = new Set<SearchField>([
  'created_time',
  'last_updated_time',
  'last_provisioned_time',
  'start_time',
  'end_time',
]);

/**
 * The only characters whose JavaScript lowercase holds ASCII (U+0130 -> "i\u0307", U+212A -> "k"):
 * SQL's ASCII-only lower() misses those, so a value holding one is always a `contains` candidate.
 */
export const LOWERS_TO_ASCII = ['\u0130', '\u212a'];
