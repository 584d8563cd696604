// Errors for bad arguments found on the JS side. They are TypeError and
// RangeError (so `instanceof TypeError` keeps working) with the code the
// addon gives its own argument errors, so every bad argument, whichever side
// finds it, can be told apart by `error.code === 'ERR_TORCHTS_ARG'`.

export const ARG_ERROR_CODE = 'ERR_TORCHTS_ARG';

/** An argument of the wrong type or structure. */
export class ArgumentTypeError extends TypeError {
  readonly code = ARG_ERROR_CODE;
}

/** An argument of the right type with a value out of its allowed range. */
export class ArgumentRangeError extends RangeError {
  readonly code = ARG_ERROR_CODE;
}
