/**
 * Fills a markdown template from the report model: `{{name}}` takes a formatted value,
 * `{{> name}}` on its own line takes an HTML block (a figure, table or chart). A placeholder the
 * model lacks is an error naming the template: a report with holes is never written.
 *
 * @module
 */

/** What templates may refer to: values already formatted as text, and blocks of HTML. */
export interface TemplateModel {
  vars: Record<string, string>;
  blocks: Record<string, string>;
}

/**
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillTemplate } from "./template.ts";
 * const out = fillTemplate("RMSE {{rmse}}\n\n{{> table}}\n", { vars: { rmse: "0.12" }, blocks: { table: "<table></table>" } }, "t.md");
 * assert.equal(out, "RMSE 0.12\n\n<table></table>\n");
 * ```
 */
export function fillTemplate(template: string, model: TemplateModel, name: string): string {
  const missing: string[] = [];
  const filled = template
    .replace(/^\{\{>\s*([\w.-]+)\s*\}\}[ \t]*$/gm, (_m, key: string) => {
      if (!(key in model.blocks)) missing.push(`{{> ${key}}}`);
      // Blank lines around the block keep markdown-it from wrapping it in a paragraph; a blank
      // line inside would end markdown-it's HTML block early.
      return `\n${(model.blocks[key] ?? "").replace(/\n\s*\n/g, "\n")}\n`;
    })
    .replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_m, key: string) => {
      if (!(key in model.vars)) missing.push(`{{${key}}}`);
      return model.vars[key] ?? "";
    });
  if (missing.length > 0) {
    throw new Error(`Template ${name} refers to ${missing.join(", ")}, which this run doesn't provide`);
  }
  return filled.replace(/^\n+/, "").replace(/\n{3,}/g, "\n\n").replace(/\n+$/, "\n");
}
