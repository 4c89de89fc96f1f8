import { fieldsOf, type JsonSchema, type Values } from '../lib/schemaFields.js';

const labelOf = (name: string) => name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** A form for a model's `input`, generated from its JSON Schema, each field labelled with its description. */
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
