/** Prepared statements by SQL text: preparing is the expensive part of a query, so each is prepared once. */
import type { Database as Db, Statement } from 'better-sqlite3';

export function statementCache(db: Db): (sql: string) => Statement {
  const stmts = new Map<string, Statement>();
  return (sql) => {
    let s = stmts.get(sql);
    if (!s) {
      s = db.prepare(sql);
      stmts.set(sql, s);
    }
    return s;
  };
}
