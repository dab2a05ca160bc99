// The one entry point to @peculiar/x509 in bramble. Its dependency injection (tsyringe) needs a
// Reflect metadata polyfill loaded BEFORE it is evaluated (see reflect-polyfill.ts), and it must
// be told to use the runtime's WebCrypto; importing the library through this file does both.

import "./reflect-polyfill";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export * from "@peculiar/x509";
