// Where the page keeps view preferences (column widths, panel sizes): its localStorage, which
// outlasts a restart, or memory where there is none (a unit test, a refused storage).

/** A Storage held in memory. */
export function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, String(value)),
  };
}

/** The page's localStorage, or memory where it is missing or refused. */
export function pageStorage(): Storage {
  try {
    if (typeof localStorage !== 'undefined' && localStorage !== null) return localStorage;
  } catch {
    // Access refused (a locked-down webview): memory below.
  }
  return memoryStorage();
}
