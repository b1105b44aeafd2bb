/**
 * The type of localbot's stand-in for the botpress repository's generated `.genenv` module when it is
 * missing: the process environment, every name a string (undefined at run time when the variable is unset).
 */
declare const env: { readonly [name: string]: string }
export = env
