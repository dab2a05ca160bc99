// In-memory key → {createRevision, modRevision} for every live key, so a write's CAS check
// needs no database read. Values are deliberately not kept (the server's memory budget is
// ~100 MB and the API server already caches values). Writes validated but not yet committed
// sit in a small overlay, with their values, so that later writes in the same group commit
// are checked against them, and so that a failed commit can be undone by dropping the overlay.

export interface Revisions {
  createRevision: number;
  modRevision: number;
}

interface Staged {
  /** The revision of the in-flight write that produced this state. */
  revision: number;
  /** The key's state after that write; undefined for a delete. */
  state: (Revisions & { value: string }) | undefined;
}

export class RevisionIndex {
  readonly #committed = new Map<string, Revisions>();
  readonly #staged = new Map<string, Staged>();

  get size(): number {
    return this.#committed.size;
  }

  /** The key's latest state, staged or committed; value only when it is still in flight. */
  lookup(key: string): (Revisions & { value?: string }) | undefined {
    const staged = this.#staged.get(key);
    if (staged) return staged.state;
    return this.#committed.get(key);
  }

  stage(key: string, revision: number, state: Staged["state"]): void {
    this.#staged.set(key, { revision, state });
  }

  /** Records a committed write; clears the overlay unless a later write on the key is in flight. */
  commit(key: string, revision: number, state: Revisions | undefined): void {
    if (state) this.#committed.set(key, { createRevision: state.createRevision, modRevision: state.modRevision });
    else this.#committed.delete(key);
    if (this.#staged.get(key)?.revision === revision) this.#staged.delete(key);
  }

  /** Forgets every in-flight write (their commit failed). */
  rollback(): void {
    this.#staged.clear();
  }

  /** Loads a committed state at start-up. */
  load(key: string, revisions: Revisions): void {
    this.#committed.set(key, revisions);
  }
}
