/** Spelling suggestions for option names (`resav` → `resave`, `maxage` → `maxAge`). */

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  let prev2 = row.slice();
  for (let i = 1; i <= a.length; i++) {
    const prev = row.slice();
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      // A swap of two neighbours ("dri" for "dir") counts as one edit.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, prev2[j - 2]! + 1);
      diag = up;
    }
    prev2 = prev;
  }
  return row[b.length]!;
}

/** The known name closest to `name` (ignoring case), if one is close enough to be a likely misspelling. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const last = k.slice(k.lastIndexOf('.') + 1).toLowerCase();
    // A name that is the start or the end of a known one ("collection" for "collectionName") is one edit off.
    const affix = lower.length >= 4 && (last.startsWith(lower) || last.endsWith(lower)) ? 1 : Infinity;
    const d = Math.min(distance(lower, k.toLowerCase()), distance(lower, last), affix);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(3, Math.floor(name.length / 3))) ? best : undefined;
}

/** "unknown option "x"": with what it is likely meant to be, or the known names. */
export function unknownOptionText(where: string, name: string, known: readonly string[]): string {
  const near = closestName(name, known);
  return near !== undefined
    ? `${where} has no option "${name}": did you mean "${near}"?`
    : `${where} has no option "${name}"; its options are ${known.filter((k) => !k.includes('.')).join(', ')}`;
}
