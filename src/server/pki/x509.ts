// The one entry point to @peculiar/x509 in bramble. Its dependency injection (tsyringe) checks
// for a Reflect metadata polyfill the moment it is evaluated, so the polyfill must be loaded
// strictly first. ES `import` statements do not guarantee that here: reflect-metadata is a
// CommonJS module, and both Bun's runtime (now and then) and the bundled binary (always)
// evaluated @peculiar/x509 before it. Two synchronous require() calls run in the order written.
// Callers take types from `import type ... from "@peculiar/x509"`, which loads nothing.

import type * as X509 from "@peculiar/x509";

require("reflect-metadata");
export const x509: typeof X509 = require("@peculiar/x509");

x509.cryptoProvider.set(crypto);
