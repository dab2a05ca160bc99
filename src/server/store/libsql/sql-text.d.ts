// `import sql from "./x.sql" with { type: "text" }` (Bun inlines the file's text into the bundle).
declare module "*.sql" {
  const text: string;
  export default text;
}
