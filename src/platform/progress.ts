// Progress for long CLI work: a bar on a terminal, plain lines otherwise (CI logs, pipes).
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, label?: string): void;
  setTotal(total: number): void;
  stop(summary?: string): void;
}

export function createProgress(title: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${title} [{bar}] {percentage}% | {value}/{total} | {label} | eta {eta_formatted}`,
        stream,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { label: '' });
    return {
      update: (done, label = '') => bar.update(done, { label }),
      setTotal: (t) => bar.setTotal(t),
      stop: (summary) => {
        bar.stop();
        if (summary) stream.write(`${summary}\n`);
      },
    };
  }
  // Plain lines: one every 10% (or on label change), so logs stay readable.
  let lastDecile = -1;
  let lastLabel = '';
  let currentTotal = total;
  const started = Date.now();
  return {
    update(done, label = '') {
      const decile = currentTotal > 0 ? Math.floor((done / currentTotal) * 10) : 0;
      if (decile !== lastDecile || label !== lastLabel) {
        lastDecile = decile;
        lastLabel = label;
        const pct = currentTotal > 0 ? Math.round((done / currentTotal) * 100) : 0;
        stream.write(`${title}: ${pct}% (${done}/${currentTotal})${label ? ` ${label}` : ''}\n`);
      }
    },
    setTotal(t) {
      currentTotal = t;
    },
    stop(summary) {
      stream.write(`${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s${summary ? ` – ${summary}` : ''}\n`);
    },
  };
}

/** A progress sink that does nothing, for tests and library callers. */
export const silentProgress: Progress = { update() {}, setTotal() {}, stop() {} };

/**
 * A sentence for long CLI work on a busy machine (the load average at or above the number of
 * cores), so a slow start is put down to the machine rather than to the program; none otherwise.
 */
export function busyNote(loadAverage: number, cores: number): string | undefined {
  if (!(loadAverage >= cores)) return undefined;
  return `This machine is busy (load average ${loadAverage.toFixed(1)} on ${cores} core${cores === 1 ? '' : 's'}), so this took longer than it would on a quiet one.`;
}
