// Hands out numbers from a range (ClusterIP offsets, NodePorts) without collisions. Scanning
// starts after the last number handed out, so a just-released number is not reused at once
// (clients may still hold it), as upstream's allocators avoid quick reuse.
export class RangeAllocator {
  private used = new Set<number>();
  private next: number;

  /** allocate() hands out numbers from autoFrom up; reserve() accepts the whole range. */
  constructor(
    readonly first: number,
    readonly last: number,
    private readonly autoFrom = first,
  ) {
    this.next = autoFrom;
  }

  has(n: number) {
    return this.used.has(n);
  }

  contains(n: number) {
    return Number.isInteger(n) && n >= this.first && n <= this.last;
  }

  /** Marks n as used; false if it already was. */
  reserve(n: number): boolean {
    if (this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }

  release(n: number) {
    this.used.delete(n);
  }

  /** A free number, now reserved; undefined when the range is full. */
  allocate(): number | undefined {
    const size = this.last - this.autoFrom + 1;
    for (let i = 0; i < size; i++) {
      const n = this.autoFrom + ((this.next - this.autoFrom + i) % size);
      if (!this.used.has(n)) {
        this.used.add(n);
        this.next = n + 1 > this.last ? this.autoFrom : n + 1;
        return n;
      }
    }
    return undefined;
  }

  get free() {
    return this.last - this.first + 1 - this.used.size;
  }
}
