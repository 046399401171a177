// Progress of a `joinery link` run on the terminal: the stages linking reports (preparing,
// blocking, estimating u and m, scoring, clustering), each shown by the platform's one progress
// reporter (a bar on a TTY, plain lines otherwise), one after another.

import { createProgress, type Progress } from '../platform/progress.ts';
import type { ProgressCallback } from './types.ts';

export interface ProgressReporter {
  onProgress: ProgressCallback;
  /** Ends the stage shown, if any; says nothing more (a failure's own line stays the last). */
  stop(): void;
}

export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  let stage: string | undefined;
  let shown: Progress | undefined;
  return {
    onProgress(event) {
      if (event.stage !== stage) {
        shown?.stop();
        stage = event.stage;
        shown = createProgress(`joinery link: ${event.stage}`, event.total, stream);
      } else {
        shown!.setTotal(event.total);
      }
      shown!.update(event.done);
    },
    stop() {
      shown?.stop();
      shown = undefined;
    },
  };
}
