export function wantedHeapMegabytes(): number;
export function ensureHeapLimit(script: string, node?: string): Promise<void>;
