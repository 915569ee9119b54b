// Module loader hook: src/main/resources/web/parley.js is an ES module, but it is a .js file in a
// folder with no package.json, which Node reads as CommonJS. This says what it is.
export async function load(url, context, nextLoad) {
  if (url.endsWith('/src/main/resources/web/parley.js')) return nextLoad(url, { ...context, format: 'module' });
  return nextLoad(url, context);
}
