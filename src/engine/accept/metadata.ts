import { isStorableText, UNSTORABLE_TEXT } from '../../shared/safeText.js';

/** Client metadata is any JSON object within these bounds; pixelrelay stores it and shows it back. */
export const METADATA_LIMITS = { maxDepth: 32, maxBytes: 16 * 1024, maxKeyLength: 256 } as const;

// Enough to show a client what is wrong without answering with a list as large as its body.
const MAX_ISSUES = 20;

export interface JsonIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Everything about `value` (as JSON.parse made it) that pixelrelay must not store, found without recursion:
 * zod, JSON.stringify, our request hash and Prisma all recurse, and a body nested a few thousand levels deep
 * overflows the stack in any of them. Numbers beyond ±MAX_SAFE_INTEGER are refused because JSON.parse has
 * already rounded them (2^53 + 1 reads as 2^53), and 1e400 reads as Infinity, which JSON stores as null.
 */
export function metadataIssues(value: unknown): JsonIssue[] {
  const issues: JsonIssue[] = [];
  const stack: { value: unknown; path: (string | number)[]; depth: number }[] = [{ value, path: [], depth: 1 }];
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const node = stack.pop()!;
    if (typeof node.value === 'string') {
      if (!isStorableText(node.value)) issues.push({ path: node.path, message: UNSTORABLE_TEXT });
    } else if (typeof node.value === 'number') {
      if (!Number.isFinite(node.value)) issues.push({ path: node.path, message: 'must be a finite number' });
      else if (Math.abs(node.value) > Number.MAX_SAFE_INTEGER)
        issues.push({ path: node.path, message: `must be within ±${Number.MAX_SAFE_INTEGER}; larger numbers lose precision` });
    } else if (node.value !== null && typeof node.value === 'object') {
      if (node.depth > METADATA_LIMITS.maxDepth) {
        issues.push({ path: node.path, message: `nests deeper than ${METADATA_LIMITS.maxDepth} levels` });
        continue;
      }
      const children: [string | number, unknown][] = Array.isArray(node.value) ? node.value.map((v, i) => [i, v]) : Object.entries(node.value);
      for (const [key, child] of children.reverse()) {
        const path = [...node.path, key];
        if (typeof key === 'string') {
          if (key.length > METADATA_LIMITS.maxKeyLength) issues.push({ path, message: `key must be at most ${METADATA_LIMITS.maxKeyLength} characters` });
          if (!isStorableText(key)) issues.push({ path, message: `key ${UNSTORABLE_TEXT}` });
        }
        stack.push({ value: child, path, depth: node.depth + 1 });
      }
    }
  }
  if (issues.length > 0) return issues.slice(0, MAX_ISSUES);
  // Depth is bounded now, so serialising is safe.
  if (Buffer.byteLength(JSON.stringify(value) ?? '') > METADATA_LIMITS.maxBytes) {
    return [{ path: [], message: `must serialise to at most ${METADATA_LIMITS.maxBytes / 1024} KiB of UTF-8` }];
  }
  return [];
}
