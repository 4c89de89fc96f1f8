/**
 * A migration script cut into its statements as Postgres reads them: a semicolon inside a quoted string, a quoted
 * identifier, a dollar-quoted body (a trigger function's) or a comment ends nothing.
 */
export function splitSqlScript(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const skipPast = (end: string, from: number) => {
    const at = script.indexOf(end, from);
    return at === -1 ? script.length : at + end.length;
  };
  while (i < script.length) {
    const ch = script[i]!;
    if (ch === "'" || ch === '"') {
      // A doubled quote inside is two quoted runs back to back: the same rule reads it.
      i = skipPast(ch, i + 1);
    } else if (ch === '-' && script[i + 1] === '-') {
      i = skipPast('\n', i + 2);
    } else if (ch === '/' && script[i + 1] === '*') {
      i = skipPast('*/', i + 2);
    } else if (ch === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(script.slice(i, i + 64))?.[0];
      i = tag ? skipPast(tag, i + tag.length) : i + 1;
    } else if (ch === ';') {
      statements.push(script.slice(start, i));
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  statements.push(script.slice(start));
  return statements.map((s) => s.trim()).filter((s) => s.length > 0 && !isOnlyComments(s));
}

function isOnlyComments(statement: string): boolean {
  return statement.split('\n').every((line) => line.trim() === '' || line.trim().startsWith('--'));
}
