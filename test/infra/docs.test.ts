import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/compose.js';

// The documents are for their readers: the README is a first screen that says how to run and test, each topic has
// a page under docs/, and their links hold as files move (docs/development.md, Habits).

const README = 'README.md';
const README_MAX_BYTES = 10_240;
const FIRST_SCREEN_LINES = 40;

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const documents = [
  README,
  ...readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks, line by line (a `# comment` in a shell block is no heading). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor for a heading: the rendered text, lower-cased, without punctuation, spaces made hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

const anchorsCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorsCache.get(file);
  if (!anchors) {
    anchors = new Set();
    const seen = new Map<string, number>();
    for (const line of prose(read(file))) {
      const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      if (!heading) continue;
      const base = slug(heading[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    anchorsCache.set(file, anchors);
  }
  return anchors;
}

/** Every `[text](target)` outside code; code spans are blanked first, so a link's text may be code. */
function linksOf(markdown: string): string[] {
  const links: string[] = [];
  for (const line of prose(markdown)) {
    for (const match of line.replace(/`[^`]*`/g, 'code').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push(match[1]!);
  }
  return links;
}

describe('README.md', () => {
  const readme = read(README);

  it(`stays a first screen: at most ${README_MAX_BYTES} bytes`, () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it(`says how to run it and how to test it (the command CI runs) in its first ${FIRST_SCREEN_LINES} lines`, () => {
    const firstScreen = readme.split('\n').slice(0, FIRST_SCREEN_LINES).join('\n');
    expect(firstScreen).toContain('npm run dev');
    const ciTest = read('.ci/run')
      .split('\n')
      .filter((line) => /^npm (test|run test)\b/.test(line));
    expect(ciTest).toEqual(['npm test']);
    expect(firstScreen).toContain(ciTest[0]);
  });

  it('links to every page under docs/', () => {
    const linked = new Set(linksOf(readme).map((link) => path.posix.normalize(link.split('#')[0]!)));
    for (const doc of documents.filter((d) => d !== README)) expect(linked, doc).toContain(doc);
  });
});

describe('the documents’ relative links', () => {
  it('are found at all (the link parser works)', () => {
    expect(linksOf(read(README)).length).toBeGreaterThan(5);
    expect(anchorsOf(README)).toContain('a-first-session');
    expect(slug("PixelByte's webhooks")).toBe('pixelbytes-webhooks');
    expect(slug('Read: `GET /v1/edits/{id}` → the edit')).toBe('read-get-v1editsid--the-edit');
  });

  for (const doc of documents) {
    it(`in ${doc} name files and headings that exist`, () => {
      const broken: string[] = [];
      for (const link of linksOf(read(doc))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, http:, mailto:
        const [target = '', anchor] = link.split('#');
        const file = target === '' ? doc : path.posix.normalize(path.posix.join(path.posix.dirname(doc), target));
        const absolute = path.join(REPO_ROOT, file);
        if (file.startsWith('..') || !existsSync(absolute)) {
          broken.push(`${link}: no file ${file}`);
          continue;
        }
        if (anchor === undefined) continue;
        if (!file.endsWith('.md') || statSync(absolute).isDirectory()) {
          broken.push(`${link}: an anchor into something that is not a Markdown file`);
          continue;
        }
        if (!anchorsOf(file).has(anchor)) broken.push(`${link}: no heading #${anchor} in ${file}`);
      }
      expect(broken).toEqual([]);
    });
  }
});
