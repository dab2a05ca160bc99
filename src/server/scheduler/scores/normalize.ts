// Upstream's DefaultNormalizeScore: scale raw scores so the best is 100 (or, reversed, so the
// worst is 0 and nodes with a raw 0 get 100).

export function normalizeToMax(scores: Float64Array, count: number, reverse = false): void {
  let max = 0;
  for (let i = 0; i < count; i++) if (scores[i] > max) max = scores[i];
  if (max === 0) {
    if (reverse) scores.fill(100, 0, count);
    return;
  }
  for (let i = 0; i < count; i++) {
    const s = (scores[i] * 100) / max;
    scores[i] = reverse ? 100 - s : s;
  }
}
