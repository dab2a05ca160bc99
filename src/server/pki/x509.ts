// The one entry point to @peculiar/x509 in bramble. Its dependency injection (tsyringe) needs a
// Reflect metadata polyfill loaded BEFORE it is evaluated, and it needs to be told to use the
// runtime's WebCrypto; importing the library through this file guarantees both.

import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export * from "@peculiar/x509";
