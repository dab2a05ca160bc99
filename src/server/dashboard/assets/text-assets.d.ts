// The dashboard's stylesheet is imported as text (Bun inlines it into the bundle). (*.html is
// typed by bun-types as an HTML bundle; assets.ts casts it.)
declare module "*.css" {
  const text: string;
  export default text;
}
