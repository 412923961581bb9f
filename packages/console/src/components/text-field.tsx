/**
 * A labelled input. Every input in the console goes through here or carries its
 * own <label>: the label is tied to the input by id, and a hint is announced
 * with it through aria-describedby.
 */
import { useId } from 'preact/hooks';

export interface TextFieldProps {
  label: string;
  value: string;
  onInput: (value: string) => void;
  hint?: string;
  type?: 'text' | 'password';
  multiline?: boolean;
  required?: boolean;
  autoComplete?: string;
  placeholder?: string;
  name?: string;
  disabled?: boolean;
  /** data-testid of the input, for the browser tests. */
  testId?: string;
}

export function TextField(props: TextFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const shared = {
    id,
    name: props.name,
    value: props.value,
    required: props.required,
    disabled: props.disabled,
    placeholder: props.placeholder,
    autoComplete: props.autoComplete ?? 'off',
    spellcheck: false,
    'aria-describedby': props.hint === undefined ? undefined : hintId,
    onInput: (event: Event) => props.onInput((event.currentTarget as HTMLInputElement).value),
    'data-testid': props.testId,
  };
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.multiline === true ? (
        <textarea {...shared} rows={4} />
      ) : props.type === 'password' ? (
        <input {...shared} type="password" />
      ) : (
        <input {...shared} type="text" />
      )}
      {props.hint === undefined ? null : (
        <p id={hintId} class="hint">
          {props.hint}
        </p>
      )}
    </div>
  );
}
