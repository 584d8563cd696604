// Small pieces of Python semantics that PyTorch's schedulers rely on, so the
// TypeScript formulas read like the originals and behave the same at the edges.

/** Python's max(a, b): keeps a unless b is strictly greater (NaN and -0 behave as in Python). */
export function pythonMax(a: number, b: number): number {
  return b > a ? b : a;
}

/** Python's bisect.bisect_right: the index after the last element <= x in a sorted array. */
export function bisectRight(sorted: readonly number[], x: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (x < sorted[middle]!) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Whether integer a is a multiple of integer b; the sign of a % b does not matter for this. */
export function isMultipleOf(a: number, b: number): boolean {
  return a % b === 0;
}

/** Python's a // b for integers. */
export function floorDivide(a: number, b: number): number {
  return Math.floor(a / b);
}
