/**
 * The shared kit for provider code, in one import: fixed-offset wall-clock time (time.ts), strict
 * form and JSON fields with one rule for repeated names (fields.ts), zod parsing of provider answers
 * (responses.ts), provider HTTP on keep-alive agents (http.ts), the frame of simulator pages (sim-page.ts), and core's escape-by-default `html` template for provider pages (core/html.ts; the
 * kit writes no escaping of its own).
 */
export * from './fields.ts';
export * from './http.ts';
export * from './responses.ts';
export * from './sim-page.ts';
export * from './time.ts';
export { html, joinHtml, SafeHtml, type HtmlValue } from '../../core/html.ts';
