// Lists a page at a time, the GOV.UK way: "Showing 1 to 25 of 290", previous and next links, and
// (for long lists) page numbers with gaps. Each list's links keep its filters in the address, so
// a page can be bookmarked or reloaded.

export interface PaginationItem {
  number?: number;
  href?: string;
  current?: boolean;
  ellipsis?: boolean;
}

/** The govukPagination macro's parameters, or null when everything fits on one page. */
export interface Pagination {
  previous?: { href: string };
  next?: { href: string };
  items?: PaginationItem[];
  landmarkLabel?: string;
}

/** A page's address: the path with its filters (empty ones left out) and the page number after the first. */
export function pageHref(path: string, filters: Record<string, string | undefined>, fragment = ''): (page: number) => string {
  return (page) => {
    const params = new URLSearchParams(Object.entries(filters).filter((entry): entry is [string, string] => Boolean(entry[1])));
    if (page > 1) params.set('page', String(page));
    const query = params.toString();
    return `${path}${query ? `?${query}` : ''}${fragment}`;
  };
}

/** Page numbers to offer: the first, the last, and those around the current one, with gaps. */
export function pageItems(current: number, pages: number, href: (n: number) => string): PaginationItem[] {
  const wanted = [...new Set([1, current - 1, current, current + 1, pages])].filter((n) => n >= 1 && n <= pages).sort((a, b) => a - b);
  const items: PaginationItem[] = [];
  wanted.forEach((n, i) => {
    if (i > 0 && n - wanted[i - 1]! > 1) items.push({ ellipsis: true });
    items.push({ number: n, href: href(n), current: n === current });
  });
  return items;
}

/** Previous and next links (and page numbers when `numbered`), or null for a single page. */
export function pagination(
  current: number,
  pages: number,
  href: (n: number) => string,
  options: { numbered?: boolean; landmarkLabel?: string } = {},
): Pagination | null {
  if (pages <= 1) return null;
  return {
    previous: current > 1 ? { href: href(current - 1) } : undefined,
    next: current < pages ? { href: href(current + 1) } : undefined,
    ...(options.numbered ? { items: pageItems(current, pages, href) } : {}),
    ...(options.landmarkLabel ? { landmarkLabel: options.landmarkLabel } : {}),
  };
}

/** "Showing from to to": the positions of the first and last rows on this page (0 and 0 when nothing matches). */
export function showing(page: number, perPage: number, matching: number, rowsOnPage: number): { from: number; to: number } {
  if (matching === 0) return { from: 0, to: 0 };
  const from = (page - 1) * perPage + 1;
  return { from, to: from + rowsOnPage - 1 };
}
