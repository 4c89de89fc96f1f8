/**
 * The fields of a form for a model's `input`, read from its JSON Schema: the shapes the catalog uses (strings,
 * enums, numbers, booleans, and image URL fields, which take an upload instead); and the form's values as an input.
 */
export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  format?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

export type Field =
  | { kind: 'image'; name: string; many: boolean }
  | { kind: 'choice'; name: string; options: string[]; numeric: boolean }
  | { kind: 'text'; name: string; long: boolean }
  | { kind: 'number'; name: string; min?: number; max?: number; integer: boolean }
  | { kind: 'boolean'; name: string };

const isUriString = (s: JsonSchema | undefined) => s?.type === 'string' && s.format === 'uri';

/** Each property as the field that edits it; one this form cannot edit is left out (the model's default applies). */
export function fieldsOf(schema: JsonSchema): Field[] {
  return Object.entries(schema.properties ?? {}).flatMap(([name, prop]): Field[] => {
    if (isUriString(prop)) return [{ kind: 'image', name, many: false }];
    if (prop.type === 'array' && isUriString(prop.items)) return [{ kind: 'image', name, many: true }];
    const choices = prop.enum ?? prop.anyOf?.find((option) => option.enum)?.enum;
    if (choices) return [{ kind: 'choice', name, options: choices.map(String), numeric: choices.every((c) => typeof c === 'number') }];
    if (prop.type === 'string') return [{ kind: 'text', name, long: (prop.maxLength ?? 0) > 200 }];
    if (prop.type === 'integer' || prop.type === 'number')
      return [{ kind: 'number', name, min: prop.minimum, max: prop.maximum, integer: prop.type === 'integer' }];
    if (prop.type === 'boolean') return [{ kind: 'boolean', name }];
    return [];
  });
}

export type Values = Record<string, string | boolean | string[]>;

/** The form's values as the model's `input`: empty optional fields left out, numbers as numbers. */
export function inputOf(fields: Field[], values: Values): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    if (field.kind === 'image') input[field.name] = field.many ? value : (value as string[])[0];
    else if (field.kind === 'number' || (field.kind === 'choice' && field.numeric)) input[field.name] = Number(value);
    else input[field.name] = value;
  }
  return input;
}

export function defaultsOf(schema: JsonSchema): Values {
  const values: Values = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.default !== undefined) values[name] = typeof prop.default === 'boolean' ? prop.default : String(prop.default);
  }
  return values;
}
