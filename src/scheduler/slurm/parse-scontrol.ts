/**
 * `scontrol show job` (`Key=value` pairs, one record per job) and `scontrol show config`
 * (`Key = value` lines). Pure; lines of other shapes are skipped.
 */

const PAIR = /^([A-Za-z][A-Za-z0-9_/:]*)=(.*)$/s;

/**
 * One record per job, from the multi-line or the one-line (`-o`) form. A word without
 * `Key=` continues the previous value, so `JobName=two words` stays whole.
 */
export function parseScontrolShowJob(text: string): Array<Record<string, string>> {
  const records: Array<Record<string, string>> = [];
  let current: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/).filter(Boolean);
    // A line that does not start with Key=value is noise (a banner, say) and ends a record.
    if (!words[0] || !PAIR.test(words[0])) {
      current = undefined;
      continue;
    }
    let lastKey: string | undefined;
    for (const word of words) {
      const m = PAIR.exec(word);
      if (m?.[1] === 'JobId') {
        current = {};
        records.push(current);
      }
      if (!current) break;
      if (m) {
        lastKey = m[1]!;
        current[lastKey] = m[2]!;
      } else if (lastKey !== undefined) {
        current[lastKey] = `${current[lastKey]} ${word}`;
      }
    }
  }
  return records;
}

/** `scontrol show config` as a map: `MaxArraySize = 1001` → `{ MaxArraySize: '1001' }`. */
export function parseScontrolConfig(text: string): Record<string, string> {
  const config: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z0-9_]*)\s+= (.*)$/.exec(line.trimEnd());
    if (m) config[m[1]!] = m[2]!.trim();
  }
  return config;
}

/** The site's MaxArraySize (array indices must be below it); SLURM's default is 1001. */
export function maxArraySize(config: Record<string, string>): number {
  const v = config.MaxArraySize;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : 1001;
}
