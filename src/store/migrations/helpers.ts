import { type CreateTableBuilder, sql } from 'kysely';
import { type AnyKysely, type DialectName, dialectOf } from '../dialect.js';

/**
 * `create(name)` starts a CREATE TABLE with the options every berth table gets. On MySQL /
 * MariaDB: InnoDB, utf8mb4 (all of Unicode) and the binary collation, so keys compare
 * byte-exact and case-sensitive as they do on SQLite and PostgreSQL.
 */
export function table(db: AnyKysely): {
  dialect: DialectName;
  create: (name: string) => CreateTableBuilder<string, never>;
} {
  const dialect = dialectOf(db);
  const create = (name: string) => {
    const t = db.schema.createTable(name);
    return dialect === 'mysql'
      ? t.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
      : t;
  };
  return { dialect, create };
}
