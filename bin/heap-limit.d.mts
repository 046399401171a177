export function wantedHeapMegabytes(): number;
export function heapFlags(): string[];
export function ensureHeapLimit(script: string, node?: string): Promise<void>;
