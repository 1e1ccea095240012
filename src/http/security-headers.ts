/**
 * Security headers on every response, as OWASP recommends for an API: a browser must not sniff
 * a body into a type it would run, frame any of our pages, or pass our URLs on as a referrer;
 * once it has reached us over HTTPS it must not fall back to plain HTTP. Every response's
 * Content-Security-Policy allows nothing, except the GraphiQL page's, which allows exactly
 * what that page needs (graphiql.ts).
 */
import type { Plugin } from 'graphql-yoga';

export interface SecurityHeadersOptions {
  /** Send Strict-Transport-Security: clients reach this server over HTTPS (SERVED_OVER_TLS). */
  hsts: boolean;
  /** The GraphiQL page's policy, for HTML responses; unset when GraphiQL is off. */
  graphiqlPolicy?: string;
}

/** A year, subdomains included: the value HSTS preload lists ask for. */
export const HSTS = 'max-age=31536000; includeSubDomains';
/** JSON and empty bodies load nothing and are framed nowhere. */
export const API_POLICY = "default-src 'none'; frame-ancestors 'none'";

export function useSecurityHeaders({ hsts, graphiqlPolicy }: SecurityHeadersOptions): Plugin {
  return {
    onResponse({ response }) {
      const { headers } = response;
      headers.set('X-Content-Type-Options', 'nosniff');
      headers.set('X-Frame-Options', 'DENY');
      headers.set('Referrer-Policy', 'no-referrer');
      if (hsts) headers.set('Strict-Transport-Security', HSTS);
      const isPage = headers.get('content-type')?.startsWith('text/html') ?? false;
      headers.set(
        'Content-Security-Policy',
        isPage && graphiqlPolicy ? graphiqlPolicy : API_POLICY,
      );
    },
  };
}
