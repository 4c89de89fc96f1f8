/**
 * A form for a model's `input`, generated from its JSON Schema: the shapes the catalog uses (strings, enums, numbers,
 * booleans, and image URL fields, which take an upload instead), each field labelled with its description.
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

const labelOf = (name: string) => name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

export function SchemaForm(props: {
  schema: JsonSchema;
  values: Values;
  onChange: (values: Values) => void;
  onImage: (field: string, file: File) => void;
  uploading: boolean;
}) {
  const { schema, values } = props;
  const required = new Set(schema.required ?? []);
  const set = (name: string, value: string | boolean | string[]) => props.onChange({ ...values, [name]: value });
  return (
    <>
      {fieldsOf(schema).map((field) => {
        const id = `field-${field.name}`;
        const prop = schema.properties?.[field.name] ?? {};
        const hint = prop.description ? <small id={`${id}-hint`}>{prop.description}</small> : null;
        const describedBy = prop.description ? `${id}-hint` : undefined;
        const label = (
          <label for={id}>
            {labelOf(field.name)}
            {required.has(field.name) ? ' (required)' : ''}
          </label>
        );
        if (field.kind === 'image') {
          const chosen = (values[field.name] as string[] | undefined) ?? [];
          return (
            <div class="field" key={field.name}>
              {label}
              <input
                id={id}
                type="file"
                accept="image/png,image/jpeg,image/webp,image/gif"
                aria-describedby={describedBy}
                disabled={props.uploading}
                onChange={(e) => {
                  const file = (e.target as HTMLInputElement).files?.[0];
                  if (file) props.onImage(field.name, file);
                }}
              />
              {chosen.length > 0 && (
                <ul class="chosen" aria-label="Images chosen">
                  {chosen.map((ref) => (
                    <li key={ref} class="mono">
                      {ref}
                    </li>
                  ))}
                </ul>
              )}
              {hint}
            </div>
          );
        }
        if (field.kind === 'choice') {
          return (
            <div class="field" key={field.name}>
              {label}
              <select
                id={id}
                aria-describedby={describedBy}
                value={String(values[field.name] ?? '')}
                onChange={(e) => set(field.name, (e.target as HTMLSelectElement).value)}
              >
                {!required.has(field.name) && <option value="">(model default)</option>}
                {field.options.map((option) => (
                  <option key={option} value={option}>
                    {option}
                  </option>
                ))}
              </select>
              {hint}
            </div>
          );
        }
        if (field.kind === 'boolean') {
          return (
            <div class="field" key={field.name}>
              <label>
                <input type="checkbox" checked={values[field.name] === true} onChange={(e) => set(field.name, (e.target as HTMLInputElement).checked)} />{' '}
                {labelOf(field.name)}
              </label>
              {hint}
            </div>
          );
        }
        if (field.kind === 'number') {
          return (
            <div class="field" key={field.name}>
              {label}
              <input
                id={id}
                type="number"
                min={field.min}
                max={field.max}
                step={field.integer ? 1 : 'any'}
                aria-describedby={describedBy}
                value={String(values[field.name] ?? '')}
                onInput={(e) => set(field.name, (e.target as HTMLInputElement).value)}
              />
              {hint}
            </div>
          );
        }
        const common = {
          id,
          'aria-describedby': describedBy,
          required: required.has(field.name),
          value: String(values[field.name] ?? ''),
          onInput: (e: Event) => set(field.name, (e.target as HTMLInputElement).value),
        };
        return (
          <div class="field" key={field.name}>
            {label}
            {field.long ? <textarea rows={3} {...common} /> : <input type="text" {...common} />}
            {hint}
          </div>
        );
      })}
    </>
  );
}
