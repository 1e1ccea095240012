/**
 * The Content-Security-Policy of the GraphiQL page, derived from the page Yoga renders: its
 * inline scripts by SHA-256 hash, and exactly the files it loads from the CDN (Yoga's GraphiQL
 * build on unpkg.com, pinned to a version, and its icon). Nothing else may load or run, so an
 * injected script or a compromised file elsewhere on the CDN gets nowhere. Derived rather than
 * written out so that it follows the page when Yoga moves to another GraphiQL build; the test
 * pins today's policy, so such a change is noticed and looked at.
 */
import { createHash } from 'node:crypto';

export function graphiqlContentSecurityPolicy(html: string): string {
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map(
    ([, attributes = '', body = '']) => ({ src: attributeOf(attributes, 'src'), body }),
  );
  const inline = scripts.filter(({ src }) => !src).map(({ body }) => body);
  const links = [...html.matchAll(/<link\b([^>]*)>/gi)].map(([, attributes = '']) => ({
    rel: attributeOf(attributes, 'rel')?.toLowerCase(),
    href: attributeOf(attributes, 'href'),
  }));
  const linked = (rel: string) =>
    links.flatMap((link) => (link.rel === rel && link.href ? [link.href] : []));
  // The inline script fetches the editor's web workers, then starts them from blob: URLs.
  const fetched = inline.flatMap((body) =>
    [...body.matchAll(/"(https:\/\/[^"\s]+)"/g)].map(([, url]) => url!),
  );
  return [
    "default-src 'none'",
    directive('script-src', [
      ...inline.map((body) => `'sha256-${createHash('sha256').update(body).digest('base64')}'`),
      ...scripts.flatMap(({ src }) => (src ? [src] : [])),
    ]),
    // The editor (Monaco) adds <style> elements and style attributes as it runs.
    directive('style-src', ["'unsafe-inline'", ...linked('stylesheet')]),
    // GraphiQL's stylesheet carries its icons and fonts as data: URLs.
    directive('img-src', ['data:', ...linked('icon')]),
    'font-src data:',
    directive('connect-src', ["'self'", ...fetched]),
    'worker-src blob:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function directive(name: string, sources: string[]): string {
  return [name, ...new Set(sources)].join(' ');
}

/** An attribute's value, quoted or not (Yoga's page is minified: `src=https://…`). */
function attributeOf(attributes: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|\\s)${name}=(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, 'i').exec(
    attributes,
  );
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined;
}
