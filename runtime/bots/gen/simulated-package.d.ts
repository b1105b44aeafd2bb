/**
 * The type of localbot's stand-in for a `bp_modules/NAME` that `bp add` has not downloaded (see
 * runtime/bots/simulated.ts): permissive, so that a definition adding it type-checks. Its real types come
 * with the package once downloaded.
 */
declare const simulatedPackage: any
export default simulatedPackage
