import { describe, expect, it } from 'vitest';
import { splitSqlScript } from '../../src/infra/sqlScript.js';

describe('splitSqlScript', () => {
  it('cuts at semicolons outside quotes, dollar-quoted bodies and comments', () => {
    const script = [
      "-- a comment; with a semicolon and it's quoted",
      "INSERT INTO \"a;b\" VALUES ('x;y', 'it''s');",
      'CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM 1; RETURN NULL; END; $$;',
      '/* block; comment */ SELECT $1::int;',
      '-- only a comment at the end',
    ].join('\n');
    expect(splitSqlScript(script)).toEqual([
      "-- a comment; with a semicolon and it's quoted\nINSERT INTO \"a;b\" VALUES ('x;y', 'it''s')",
      'CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM 1; RETURN NULL; END; $$',
      '/* block; comment */ SELECT $1::int',
    ]);
  });
});
