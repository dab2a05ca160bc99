// Loads the Reflect metadata polyfill that @peculiar/x509's dependency injection (tsyringe)
// checks for when it is evaluated. It must be its own ES module imported before the library:
// the bundler evaluates a module's ES-module imports before the CommonJS ones, so a plain
// `import "reflect-metadata"` next to `import "@peculiar/x509"` runs too late in the binary.
import "reflect-metadata";
