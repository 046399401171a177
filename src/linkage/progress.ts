// Progress on the terminal: a bar on a TTY, plain lines otherwise (logs, CI).

import cliProgress from 'cli-progress';
import type { ProgressCallback, ProgressEvent } from './types.ts';

export interface ProgressReporter {
  onProgress: ProgressCallback;
  stop(): void;
}

function percent(event: ProgressEvent): number {
  return event.total > 0 ? Math.floor((100 * event.done) / event.total) : 100;
}

export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  let stage = '';
  let lastPercent = -1;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: 'joinery link {stage} [{bar}] {percentage}% | {value}/{total}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      onProgress(event) {
        if (!started) {
          bar.start(event.total, event.done, { stage: event.stage });
          started = true;
        } else if (event.stage !== stage) {
          bar.setTotal(event.total);
        }
        stage = event.stage;
        bar.update(event.done, { stage: event.stage });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  return {
    onProgress(event) {
      const now = percent(event);
      // One line per stage start, then every 25%.
      if (event.stage !== stage || Math.floor(now / 25) > Math.floor(lastPercent / 25)) {
        stream.write(`joinery link: ${event.stage} ${now}% (${event.done}/${event.total})\n`);
        lastPercent = now;
        stage = event.stage;
      }
    },
    stop() {},
  };
}
