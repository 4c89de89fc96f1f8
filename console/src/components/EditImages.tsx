import { useEffect, useState } from 'preact/hooks';
import { type AnyEdit, api } from '../lib/api.js';
import type { Role } from '../lib/session.js';
import { sourceImages } from '../lib/sourceImages.js';
import { ImageTile } from './ImageTile.js';

/** Where an upload reference is served: the client's own upload record says (the admin API has none to read). */
function useResolved(sources: string[], role: Role): Map<string, string> {
  const [resolved, setResolved] = useState(new Map<string, string>());
  const key = sources.join('\n');
  useEffect(() => {
    if (role !== 'client') return;
    const uploads = sources.filter((s) => s.startsWith('upload:'));
    void Promise.all(
      uploads.map(async (ref) => {
        const { data } = await api.GET('/v1/uploads/{id}', { params: { path: { id: ref.slice('upload:'.length) } } });
        return [ref, data?.fileUrl] as const;
      }),
    ).then((pairs) => setResolved(new Map(pairs.filter((p): p is [string, string] => typeof p[1] === 'string'))));
  }, [key, role]);
  return resolved;
}

export function EditImages(props: { edit: AnyEdit; role: Role }) {
  const sources = sourceImages(props.edit.input);
  const resolved = useResolved(sources, props.role);
  return (
    <div class="images">
      <section aria-labelledby="sources-title">
        <h2 id="sources-title">Source images</h2>
        {sources.length === 0 && <p>None.</p>}
        <div class="tiles">
          {sources.map((source, n) => {
            const src = source.startsWith('upload:') ? resolved.get(source) : source;
            const label = source.startsWith('data:') ? 'inline image' : source.startsWith('upload:') ? source : 'URL';
            return src ? (
              <ImageTile key={source} src={src} alt={`Source image ${n + 1}`} caption={label} />
            ) : (
              <p key={source} class="mono">
                {source}
              </p>
            );
          })}
        </div>
      </section>
      <section aria-labelledby="outputs-title">
        <h2 id="outputs-title">Outputs</h2>
        {props.edit.outputs.length === 0 && <p>None yet.</p>}
        <div class="tiles">
          {props.edit.outputs.map((output, n) => {
            const mirrorUrl = output.mirror && 'url' in output.mirror ? output.mirror.url : undefined;
            const mirrorError = output.mirror && 'error' in output.mirror ? output.mirror.error : undefined;
            const links = [{ href: output.url, label: 'PixelByte' }, ...(mirrorUrl ? [{ href: mirrorUrl, label: 'Mirror' }] : [])];
            const size = output.width && output.height ? `${output.width}×${output.height}` : (output.format ?? output.type);
            return (
              <ImageTile
                key={output.url}
                src={mirrorUrl ?? output.url}
                alt={`Output ${n + 1}`}
                caption={`${size}${mirrorError ? ` · not mirrored: ${mirrorError.code}` : mirrorUrl ? ' · mirrored' : ''}`}
                links={links}
              />
            );
          })}
        </div>
      </section>
    </div>
  );
}
