/** What the list needs of an edit to keep it current. */
export interface ListedEdit {
  id: string;
  updatedAt: string;
}

/**
 * The list with one change from the event stream applied: the edit replaced where it is, put on top when it is new
 * to the list, dropped when it no longer passes the filters. A change older than what the list holds (the page was
 * read after it) is ignored.
 */
export function applyChange<E extends ListedEdit>(list: E[], changed: E, keep: (edit: E) => boolean): E[] {
  const known = list.find((e) => e.id === changed.id);
  if (known && Date.parse(known.updatedAt) > Date.parse(changed.updatedAt)) return list;
  if (!keep(changed)) return list.filter((e) => e.id !== changed.id);
  return known ? list.map((e) => (e.id === changed.id ? changed : e)) : [changed, ...list];
}

/**
 * A page just read, with the changes the stream brought while it was being read: the page may be older or newer
 * than any of them, so neither simply replaces the other.
 */
export function withChanges<E extends ListedEdit>(page: E[], changes: Iterable<E>, keep: (edit: E) => boolean): E[] {
  let list = page;
  for (const changed of changes) list = applyChange(list, changed, keep);
  return list;
}
