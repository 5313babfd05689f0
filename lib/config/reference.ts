// Human wording of the config schema: the README's config reference table and the "must be ..."
// half of every config error come from here, so docs and errors cannot drift from the schema.
import { ConfigSchema, type SchemaNode } from './schema.js';

/** What a schema node accepts, as a phrase that reads after "must be". */
export function describeAllowed(schema: SchemaNode): string {
  if (schema.allowed !== undefined) return schema.allowed;
  if (schema.const !== undefined) return `'${String(schema.const)}'`;
  if (schema.enum !== undefined) return `one of ${schema.enum.join(', ')}`;
  if (schema.anyOf !== undefined) return schema.anyOf.map(describeAllowed).join(' or ');
  switch (schema.type) {
    case 'integer':
    case 'number':
      return `${schema.type === 'integer' ? 'an integer' : 'a number'}${describeRange(schema)}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return schema.minLength !== undefined && schema.minLength > 0 ? 'a non-empty string' : 'a string';
    case 'array': {
      const kind = `a ${(schema.minItems ?? 0) > 0 ? 'non-empty ' : ''}list`;
      const unique = schema.uniqueItems === true ? ' without duplicates' : '';
      return schema.items === undefined ? kind + unique : `${kind}${unique}, each ${describeAllowed(schema.items)}`;
    }
    case 'object':
      return `a mapping with keys ${Object.keys(schema.properties ?? {}).join(', ')}`;
    default:
      return 'valid';
  }
}

function describeRange(schema: SchemaNode): string {
  const { minimum: min, maximum: max } = schema;
  if (min !== undefined && max !== undefined) return ` ${min}..${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

interface ReferenceRow {
  path: string;
  type: string;
  default: string;
  description: string;
}

function collectRows(schema: SchemaNode, prefix: string, rows: ReferenceRow[]): void {
  const required = new Set(schema.required ?? []);
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const isObject = child.type === 'object';
    const objectItems = child.type === 'array' && child.items?.type === 'object' ? child.items : undefined;
    rows.push({
      path,
      type: isObject ? 'mapping' : objectItems !== undefined ? 'list of mappings' : describeAllowed(child),
      default: isObject ? '' : child.default !== undefined ? inlineJson(child.default) : required.has(key) ? 'required' : '',
      description: child.description ?? '',
    });
    if (isObject) collectRows(child, path, rows);
    if (objectItems !== undefined) collectRows(objectItems, `${path}[]`, rows);
  }
}

function inlineJson(value: unknown): string {
  return '`' + JSON.stringify(value) + '`';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown table of every config field: path, type, default, description. */
export function renderConfigReference(): string {
  const rows: ReferenceRow[] = [];
  collectRows(ConfigSchema as SchemaNode, '', rows);
  const lines = ['| Path | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    lines.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.description)} |`);
  }
  return lines.join('\n') + '\n';
}
