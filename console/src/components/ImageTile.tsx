import { useRef } from 'preact/hooks';

/** A thumbnail that opens the image full size in a dialog (Escape or the button closes it). */
export function ImageTile(props: { src: string; alt: string; caption?: string; links?: { href: string; label: string }[] }) {
  const dialog = useRef<HTMLDialogElement>(null);
  return (
    <figure class="tile">
      <button type="button" class="thumb" onClick={() => dialog.current?.showModal()} aria-label={`Show ${props.alt} full size`}>
        <img src={props.src} alt={props.alt} loading="lazy" decoding="async" />
      </button>
      <figcaption>
        {props.caption}
        {props.links?.map((link) => (
          <a key={link.href} href={link.href} target="_blank" rel="noopener noreferrer">
            {link.label}
          </a>
        ))}
      </figcaption>
      <dialog ref={dialog} class="full" aria-label={props.alt}>
        <form method="dialog">
          <button type="submit" class="secondary">
            Close
          </button>
        </form>
        <img src={props.src} alt={props.alt} />
      </dialog>
    </figure>
  );
}
