/** Internal users (name, password hash, roles) on SQLite. */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { StoredUser } from '../store.js';
import type { UserRow } from '../rows/user-rows.js';
import { toUser } from '../rows/user-rows.js';
import { statementCache } from './sqlite-statement-cache.js';

export class SqliteUsers {
  readonly #q: (sql: string) => Statement;

  constructor(db: Db) {
    this.#q = statementCache(db);
  }

  async getUser(name: string): Promise<StoredUser | undefined> {
    const row = this.#q('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    return row ? toUser(row) : undefined;
  }

  async putUser(u: StoredUser): Promise<void> {
    this.#q(
      `INSERT INTO users (name, password_hash, backend_roles, roles, attributes) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, backend_roles = excluded.backend_roles,
         roles = excluded.roles, attributes = excluded.attributes`,
    ).run(u.name, u.passwordHash, JSON.stringify(u.backendRoles), JSON.stringify(u.roles), JSON.stringify(u.attributes));
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.#q('DELETE FROM users WHERE name = ?').run(name).changes > 0;
  }

  async listUsers(): Promise<StoredUser[]> {
    return (this.#q('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toUser);
  }
}
