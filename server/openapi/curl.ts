import type { Json } from './document.ts';

/**
 * One curl command per operation of the document, for the /docs page: the document's server URL,
 * the path and query parameters' examples, the credentials the operation needs as shell variables
 * (never a value), and the first example body. A POSIX shell runs it as printed.
 */

/** Credentials by security scheme (document.ts securitySchemes), as the shell variables the reader sets. */
const CREDENTIALS: Record<string, string> = {
  merchantApiKey: '-H "Authorization: Bearer $PAYGATE_API_KEY"',
  metricsToken: '-H "Authorization: Bearer $PAYGATE_METRICS_TOKEN"',
  operatorSession: '-b "paygate_admin=$PAYGATE_ADMIN_SESSION"',
};

/** Query parameters a curl line leaves out: a cursor only means something when a previous page gave it. */
const LEFT_OUT = new Set(['cursor']);

/** A word for a POSIX shell, in single quotes (which expand nothing). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function firstExample(content: Json | undefined): unknown {
  const first = Object.values((content?.examples ?? {}) as Json)[0] as Json | undefined;
  return first?.value;
}

export function curlFor(document: Json, path: string, method: string, op: Json): string {
  const server = String(document.servers?.[0]?.url ?? '').replace(/\/+$/, '');
  const params: Json[] = (op.parameters ?? []).map((p: Json) => (p.$ref ? document.components.parameters[String(p.$ref).split('/').pop()!] : p));
  let url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params.find((p) => p.in === 'path' && p.name === name)?.example ?? name)));
  const query = new URLSearchParams();
  for (const p of params) if (p.in === 'query' && p.example !== undefined && !LEFT_OUT.has(p.name)) query.set(p.name, String(p.example));
  if ([...query].length > 0) url += `?${query}`;

  const lines: string[] = [];
  const [media, content] = (Object.entries((op.requestBody?.content ?? {}) as Json)[0] ?? []) as [string | undefined, Json | undefined];
  const body = firstExample(content);
  lines.push(`curl ${body === undefined && method !== 'get' ? `-X ${method.toUpperCase()} ` : ''}${shellQuote(server + url)}`);
  const schemes = new Set((op.security ?? []).flatMap((s: Json) => Object.keys(s)));
  for (const scheme of schemes) if (CREDENTIALS[scheme as string]) lines.push(CREDENTIALS[scheme as string]!);
  if (body !== undefined) {
    const type = media === '*/*' || media === undefined ? 'application/x-www-form-urlencoded' : media;
    lines.push(`-H ${shellQuote(`Content-Type: ${type}`)}`);
    lines.push(`--data-raw ${shellQuote(typeof body === 'string' ? body : JSON.stringify(body))}`);
  }
  return lines.join(' \\\n  ');
}
