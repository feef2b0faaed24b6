// Messages of one conversation by seq: each seq once, in order. Consumers read it through
// `latest()`/`since()` so the storage (a sorted seq array beside a map) can change freely.

export class Timeline {
  #seqs = [];
  #bySeq = new Map();

  get lastSeq() {
    return this.#seqs.length ? this.#seqs[this.#seqs.length - 1] : 0;
  }

  get firstSeq() {
    return this.#seqs.length ? this.#seqs[0] : 0;
  }

  get size() {
    return this.#seqs.length;
  }

  has(seq) {
    return this.#bySeq.has(seq);
  }

  get(seq) {
    return this.#bySeq.get(seq);
  }

  /** Adds a message; returns its index in seq order, or -1 if that seq is already here. */
  insert(message) {
    if (this.#bySeq.has(message.seq)) return -1;
    let lo = 0;
    let hi = this.#seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#seqs[mid] < message.seq) lo = mid + 1;
      else hi = mid;
    }
    this.#seqs.splice(lo, 0, message.seq);
    this.#bySeq.set(message.seq, message);
    return lo;
  }

  /** The newest `n` messages (all when `n` is omitted), newest first. */
  *latest(n = Infinity) {
    for (let i = this.#seqs.length - 1, left = n; i >= 0 && left > 0; i--, left--) {
      yield this.#bySeq.get(this.#seqs[i]);
    }
  }

  /** Every message with a seq above `seq`, oldest first. */
  *since(seq) {
    let lo = 0;
    let hi = this.#seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#seqs[mid] <= seq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#seqs.length; i++) yield this.#bySeq.get(this.#seqs[i]);
  }
}
